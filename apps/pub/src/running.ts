import { promises as fs } from 'node:fs'
import type { LocalClient } from '@hearsay/network'
import { socketPath } from '@hearsay/service/data-dir'
import type { Source } from 'pull-stream'
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.ts'

// While `hearsay start` runs it holds the store, so the other commands talk to it instead,
// over the unix socket it keeps in the data directory (ssb-server's noauth convention).

/**
 * A client of the peer running on `dataDir`, or null when none runs (no socket, or a stale one
 * left by a crash). Only a directory with a socket in it loads the network code.
 */
export async function connectRunning(dataDir: string): Promise<LocalClient | null> {
  const socket = socketPath(dataDir)
  try {
    if (!(await fs.lstat(socket)).isSocket()) return null
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null
    throw err
  }
  const { connectLocal } = await import('@hearsay/network')
  try {
    return await connectLocal(socket)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return null
    throw new CliError(`cannot talk to the peer running on ${dataDir}: ${(err as Error).message}`, EXIT_FAILURE, { cause: err })
  }
}

export function notRunning(dataDir: string): CliError {
  return new CliError(`no peer is running on ${dataDir}: start one with \`hearsay start\` (it runs in the foreground; use another terminal)`)
}

/** Runs `use` with a client of the running peer, closed afterwards; a clear error when none runs. */
export async function withRunningPeer<T>(dataDir: string, use: (client: LocalClient) => Promise<T>): Promise<T> {
  const client = await connectRunning(dataDir)
  if (client === null) throw notRunning(dataDir)
  return usePeer(client, use)
}

/** Runs `use` with `client` and closes it whatever happens. */
export async function usePeer<T>(client: LocalClient, use: (client: LocalClient) => Promise<T>): Promise<T> {
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

/** Calls an async or sync method of the peer; its errors become CliErrors naming the method. */
export async function callPeer<T>(client: LocalClient, method: string, ...args: unknown[]): Promise<T> {
  try {
    return await client.call<T>(method, ...args)
  } catch (err) {
    throw peerError(method, err)
  }
}

/**
 * An error the peer sent back, as the CLI reports it: its message, prefixed by the method. Bad
 * arguments (the peer's RpcArgumentError) are usage errors, as they would be locally.
 */
export function peerError(method: string, err: unknown): CliError {
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(err)
  return new CliError(text.startsWith(method) ? text : `${method}: ${text}`, name === 'RpcArgumentError' ? EXIT_USAGE : EXIT_FAILURE, { cause: err })
}

/**
 * A pull-stream source as an async iterable. Leaving the loop early aborts the source (so a
 * live stream on the peer is closed, not left running); an error ending it is thrown.
 */
export async function* iterate<T>(source: Source<T>): AsyncGenerator<T> {
  let ended = false
  try {
    for (;;) {
      const next = await new Promise<{ done: true } | { done: false; value: T }>((resolve, reject) =>
        source(null, (end, data) => {
          if (end === true) resolve({ done: true })
          else if (end) reject(end)
          else resolve({ done: false, value: data as T })
        }),
      )
      if (next.done) {
        ended = true
        return
      }
      yield next.value
    }
  } catch (err) {
    ended = true
    throw err
  } finally {
    if (!ended) await new Promise<void>((resolve) => source(true, () => resolve()))
  }
}
