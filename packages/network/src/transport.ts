import net from 'node:net'
import MultiServer, { type Multiserver, type MultiserverStream, type Transform } from 'multiserver'
import Net from 'multiserver/plugins/net.js'
import Shs from 'multiserver/plugins/shs.js'
import type { Duplex, Source } from 'pull-stream'
import { capsKey, formatNetShsAddress, toFeedId, type FeedId, type Identity } from '@hearsay/keys'
import { parseAddress } from './address.ts'
import { coalesce } from './pull.ts'
import { metered, newTraffic, type Traffic } from './traffic.ts'

/** How long a secret handshake may take before the connection is dropped (ssb-config's default). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 15_000

export interface HandshakeOptions {
  identity: Identity
  /** The network's caps key, base64 or bytes (default: the main network's). */
  caps?: string | Uint8Array
  /**
   * Server side: whether to let `remote` in, decided once it has proven its key. Anything
   * truthy admits it (and becomes the connection's `auth`); false refuses it. Default: everyone.
   */
  authorize?: (remote: FeedId) => Promise<unknown>
  handshakeTimeout?: number
}

/**
 * multiserver's shs transform (secret-handshake, then box-stream) for `identity`. The transport
 * and the shs1-test scripts both handshake through this one function.
 */
export function createShs({ identity, caps, authorize, handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT }: HandshakeOptions): Transform {
  return Shs({
    keys: { publicKey: identity.publicKey, secretKey: identity.secretKey },
    appKey: capsKey(caps),
    timeout: handshakeTimeout,
    auth(publicKey, cb) {
      if (!authorize) return cb(null, true)
      authorize(toFeedId(publicKey)).then(
        (verdict) => cb(null, verdict ? verdict : false),
        (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
      )
    },
  })
}

/** An authenticated, encrypted connection with a peer that proved it holds `remote`'s key. */
export interface Connection {
  readonly remote: FeedId
  /** The multiserver address it came from or went to, `net:HOST:PORT~shs:KEY`. */
  readonly address: string
  /** True when the peer dialed us. */
  readonly inbound: boolean
  /** Plaintext bytes in and out (box-stream underneath). */
  readonly stream: Duplex<Buffer, Buffer>
  /** Bytes on the wire so far (box-stream ciphertext, handshake included). */
  readonly traffic: Traffic
  /** Drops the TCP connection at once, whatever state the streams on it are in. */
  destroy(): void
  /** On connections that dialed us: what the authorize hook answered for the remote key. */
  readonly auth?: unknown
}

export interface TransportOptions extends HandshakeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string
  /** Port to listen on; 0 or omitted picks a free one. */
  port?: number
}

interface Tracked {
  destroy(): void
  traffic: Traffic
}

/**
 * TCP + secret-handshake through multiserver's net and shs plugins: listens on one address and
 * dials `net:HOST:PORT~shs:KEY` addresses. Every socket it opens or accepts, handshaking or not,
 * is tracked, so `close` leaves nothing behind.
 */
export class Transport {
  readonly id: FeedId
  private readonly options: TransportOptions
  private readonly shs: Transform
  private readonly client: Multiserver
  private readonly sockets = new Set<Tracked>()
  private closeServer: ((cb: (err?: Error | null) => void) => void) | null = null
  private listenAddress: string | null = null
  private closed = false

  constructor(options: TransportOptions) {
    this.options = options
    this.id = options.identity.id
    this.shs = createShs(options)
    // Dialing needs no listening socket: the net plugin's client half is all that is used.
    this.client = MultiServer([[Net({ host: '127.0.0.1', port: 1 }), this.shs]], (stream) => this.track(stream))
  }

  /** The address we listen on, once `listen` has resolved. */
  get address(): string | null {
    return this.listenAddress
  }

  /**
   * Starts accepting connections; each one that completes the handshake goes to `onConnection`,
   * each that fails it (garbage, wrong caps, refused, timed out) to `onHandshakeError`.
   */
  async listen(onConnection: (connection: Connection) => void, onHandshakeError: (err: Error, address: string) => void): Promise<string> {
    if (this.closeServer) throw new Error('the transport is already listening')
    const host = this.options.host ?? '127.0.0.1'
    const fixedPort = this.options.port !== undefined && this.options.port !== 0
    for (let attempt = 0; ; attempt++) {
      const port = fixedPort ? this.options.port! : await freePort(host)
      try {
        await this.listenOn(host, port, onConnection, onHandshakeError)
        this.listenAddress = formatNetShsAddress(host, port, this.id)
        return this.listenAddress
      } catch (err) {
        // A free port can be taken between finding and binding it: try another.
        if (fixedPort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw err
      }
    }
  }

  private listenOn(host: string, port: number, onConnection: (connection: Connection) => void, onHandshakeError: (err: Error, address: string) => void): Promise<void> {
    const server = MultiServer([[Net({ host, port, scope: 'device' }), this.shs]], (stream) => this.track(stream))
    return new Promise((resolve, reject) => {
      const close = server.server(
        (stream) => {
          if (this.closed) return destroyOf(stream)()
          onConnection(this.connectionOf(stream, true))
        },
        (err) => onHandshakeError(err, typeof err.address === 'string' ? err.address : 'unknown'),
        (err) => {
          if (err) return reject(err)
          this.closeServer = close
          resolve()
        },
      )
    })
  }

  /** Dials a `net:HOST:PORT~shs:KEY` address and handshakes; rejects if either fails. */
  connect(address: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('the transport is closed'))
    const canonical = parseAddress(address).address
    return new Promise((resolve, reject) => {
      this.client.client(canonical, (err, stream) => {
        if (err || !stream) return reject(err ?? new Error(`could not connect to ${canonical}`))
        if (this.closed) {
          destroyOf(stream)()
          return reject(new Error('the transport is closed'))
        }
        resolve(this.connectionOf(stream, false))
      })
    })
  }

  /** Stops listening and drops every connection, established or still handshaking. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const socket of [...this.sockets]) socket.destroy()
    const close = this.closeServer
    this.closeServer = null
    if (close) await new Promise<void>((resolve) => close(() => resolve()))
  }

  private connectionOf(stream: MultiserverStream, inbound: boolean): Connection {
    return {
      remote: toFeedId(stream.remote!),
      address: stream.address,
      inbound,
      stream: { source: stream.source, sink: stream.sink },
      traffic: (stream.meta as Tracked).traffic,
      destroy: destroyOf(stream),
      ...(inbound ? { auth: stream.auth } : {}),
    }
  }

  /**
   * multiserver's wrap hook sees every raw socket stream before the handshake. Aborting its
   * source destroys the socket; the handle rides along in `meta`, which multiserver copies
   * onto the handshaken stream.
   */
  private track(raw: MultiserverStream): MultiserverStream {
    let destroyed = false
    const tracked: Tracked = {
      traffic: newTraffic(),
      destroy: () => {
        this.sockets.delete(tracked)
        if (destroyed) return
        destroyed = true
        raw.source(true, () => {})
      },
    }
    this.sockets.add(tracked)
    const source: Source<Buffer> = (abort, cb) => {
      raw.source(abort, (end, data) => {
        if (end) {
          destroyed = true
          this.sockets.delete(tracked)
        }
        cb(end, data)
      })
    }
    const counted = metered({ source, sink: (read) => raw.sink(coalesce(read)) }, tracked.traffic)
    return { ...counted, address: raw.address, meta: tracked }
  }
}

function destroyOf(stream: MultiserverStream): () => void {
  const tracked = stream.meta as Tracked | undefined
  return () => tracked?.destroy()
}

/** A port nothing listens on right now (the OS's pick), on `host`. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
