// What every reference server the tests run in a child process (ssb-server, ssb-room, an
// ssb-room attendant) does the same way: close cleanly on SIGTERM, or when the test's end of
// stdin closes (so a crashed test never leaves one behind); and say it is listening only once
// it really is.
import net from 'node:net'

/** The exit code of a child whose port was taken before it could bind it: try another port. */
export const PORT_TAKEN_EXIT = 75

interface ClosableServer {
  on(event: 'multiserver:listening', listener: () => void): void
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

/**
 * Prints `line()` once `server` listens on 127.0.0.1:`port`. secret-stack announces
 * 'multiserver:listening' even when binding failed (it drops multiserver's error), and a port
 * found free can be taken before the child binds it (by another test's outgoing connection,
 * say); so the child dials itself first, and on refusal exits with PORT_TAKEN_EXIT.
 */
export function announceWhenListening(server: ClosableServer, port: number, line: () => object): void {
  server.on('multiserver:listening', () => {
    const probe = net.connect({ host: '127.0.0.1', port })
    probe.once('connect', () => {
      probe.destroy()
      process.stdout.write(`${JSON.stringify(line())}\n`)
    })
    probe.once('error', (err) => {
      process.stderr.write(`port ${port} could not be bound: ${err.message}\n`)
      process.exit(PORT_TAKEN_EXIT)
    })
  })
}
