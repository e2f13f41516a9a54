import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from '../transport.ts'
import { PORT_TAKEN_EXIT } from './child-server.ts'
import { defer, type Teardown } from './helpers.ts'

export interface ReferenceProcess {
  process: ChildProcess
  /**
   * The first JSON line of its stdout that `match` accepts, printed already or still to come;
   * rejects, with the tail of its stderr, if it exits first.
   */
  jsonLine<T = Record<string, unknown>>(match?: (line: Record<string, unknown>) => boolean): Promise<T>
}

/** A reference script ended before printing the line asked for. */
export class ReferenceExitError extends Error {
  constructor(name: string, readonly exitCode: number | null, stderr: string) {
    super(`${name} exited (${exitCode}):\n${stderr}`)
  }
}

/**
 * One of the reference scripts beside this file (ssb-server.ts, ssb-room.ts, …) run with tsx in
 * a child process, stopped when the test ends. Its chatter on stderr (deprecation traces,
 * replication hiccups at shutdown) is shown only if it fails.
 */
export function runReferenceScript(t: Teardown, name: string, script: string, args: readonly string[]): ReferenceProcess {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, script), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)))
  let exitCode: number | null | undefined
  let stopping = false
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exitCode = code
    // A reference peer dying mid-test shows up as a stalled or refused connection: say why.
    if (!stopping) process.stderr.write(`${name} exited during the test (${code ?? signal}):\n${stderr}\n`)
    resolve()
    for (const wake of [...waiters]) wake()
  }))
  defer(t, async () => {
    stopping = true
    child.kill('SIGTERM')
    await exited
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    lines.push(JSON.parse(line) as Record<string, unknown>)
    for (const wake of [...waiters]) wake()
  })
  const jsonLine = <T>(match: (line: Record<string, unknown>) => boolean = () => true) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match)
        if (found) {
          waiters.delete(check)
          resolve(found as T)
        } else if (exitCode !== undefined) {
          waiters.delete(check)
          reject(new ReferenceExitError(name, exitCode ?? null, stderr))
        }
      }
      waiters.add(check)
      check()
    })
  return { process: child, jsonLine }
}

/**
 * Runs a reference server script that takes the port to listen on (announcing itself with
 * child-server.ts's announceWhenListening) on a free port of 127.0.0.1, and resolves with its
 * first JSON line. A port can be taken between finding and binding it, so a child that says so
 * is started again on another.
 */
export async function runReferenceServer<T>(t: Teardown, name: string, script: string, args: (port: number) => readonly string[]): Promise<{ port: number; server: ReferenceProcess; ready: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort('127.0.0.1')
    const server = runReferenceScript(t, name, script, args(port))
    try {
      return { port, server, ready: await server.jsonLine<T>() }
    } catch (err) {
      if (!(err instanceof ReferenceExitError && err.exitCode === PORT_TAKEN_EXIT) || attempt >= 5) throw err
    }
  }
}
