import { promises as fs } from 'node:fs'
import net from 'node:net'
import createMuxrpc, { type Manifest, type Rpc } from 'muxrpc'
import pull, { type Duplex, type Source } from 'pull-stream'
import toPull from 'stream-to-pull-stream'
import { boundedCodec } from './codec.ts'

// The local client socket: a unix socket in the data directory, no handshake. Whoever can open
// it can already read the secret beside it (the directory is the owner's alone, the socket is
// made 0600), so it is the owner, and it gets every method, as ssb-server's noauth socket does.

export interface LocalListener {
  readonly path: string
  close(): Promise<void>
}

/**
 * Listens on the unix socket `path`, handing each connection to `onConnection` as a pull
 * duplex. A stale socket file (no one answers on it) is replaced; a live one is an error: a
 * peer is already running on this data directory.
 */
export async function listenLocal(path: string, onConnection: (stream: Duplex<Buffer, Buffer>, destroy: () => void) => void): Promise<LocalListener> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {}) // reported through the stream's end
    onConnection(toPull.duplex(socket), () => socket.destroy())
  })
  await listenReplacingStale(server, path)
  await fs.chmod(path, 0o600)
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

async function listenReplacingStale(server: net.Server, path: string): Promise<void> {
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  try {
    await listen()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    if (await answers(path)) throw new Error(`a peer is already running on ${path}`)
    await fs.unlink(path)
    await listen()
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}

/** A muxrpc client of the local peer, with promise helpers for its async and source methods. */
export interface LocalClient {
  readonly rpc: Rpc
  /** The methods the peer offers us, as its `manifest` gave them. */
  readonly manifest: Manifest
  /** Calls an async method by its dotted name: `call('private.publish', content, recps)`. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>
  /** Opens a source method by its dotted name. */
  source<T = unknown>(method: string, ...args: unknown[]): Source<T>
  close(): Promise<void>
}

/**
 * Connects to the local socket of a running peer and reads its manifest (so every method it
 * offers, plugins' included, can be called); rejects (ENOENT, ECONNREFUSED) if none runs.
 */
export function connectLocal(path: string): Promise<LocalClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path)
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      const rpc = createMuxrpc((err, manifest) => {
        if (err || !manifest) {
          socket.destroy()
          return reject(err ? toError(err) : new Error('the local peer sent no manifest'))
        }
        resolveWith(manifest)
      }, null, null, null, boundedCodec())
      const stream = toPull.duplex(socket)
      pull(stream, rpc.stream, stream)
      const method = (name: string) => {
        let target: unknown = rpc
        for (const part of name.split('.')) target = (target as Record<string, unknown> | undefined)?.[part]
        if (typeof target !== 'function') throw new Error(`the local peer has no method ${name}`)
        return target as (...args: unknown[]) => unknown
      }
      const resolveWith = (manifest: Manifest) => resolve({
        rpc,
        manifest,
        call: <T>(name: string, ...args: unknown[]) =>
          new Promise<T>((done, fail) => {
            method(name)(...args, (err: Error | null, value: T) => (err ? fail(toError(err)) : done(value)))
          }),
        source: <T>(name: string, ...args: unknown[]) => method(name)(...args) as Source<T>,
        close: () =>
          new Promise<void>((done) => {
            rpc.close(true, () => done())
            socket.end()
          }),
      })
    })
  })
}

/** muxrpc hands remote errors over as plain objects; callers get Errors. */
function toError(err: unknown): Error {
  if (err instanceof Error) return err
  const { message, name } = (err ?? {}) as { message?: unknown; name?: unknown }
  const error = new Error(typeof message === 'string' ? message : String(err))
  if (typeof name === 'string') error.name = name
  return error
}
