// The `hearsay` command. Kept thin: the commands live in ./commands, dispatch in ./cli.ts.

// `hearsay log | head` closes the pipe early; that ends the output, it is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

try {
  // Loaded here rather than imported so that even a broken install fails with one line.
  const { run } = await import('./cli.ts')
  process.exitCode = await run(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr })
} catch (err) {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`hearsay: cannot start: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  if (process.env.HEARSAY_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`)
  process.exitCode = 1
}
