// What every reference server the tests run in a child process (ssb-server, ssb-room, an
// ssb-room attendant) does the same way: close cleanly on SIGTERM, or when the test's end of
// stdin closes (so a crashed test never leaves one behind).

interface ClosableServer {
  close(force: boolean, cb: () => void): void
}

export function closeWhenParentLeaves(server: ClosableServer): void {
  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    server.close(true, () => process.exit(0))
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.on('SIGTERM', shutdown)
  process.stdin.on('end', shutdown)
  process.stdin.resume()
}
