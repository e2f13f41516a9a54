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
  /** How many connections we accept, checked as each socket opens (see InboundLimits). */
  inbound?: InboundLimits
}

/**
 * Bounds on the connections that dial us. A socket over any of them is closed as soon as it is
 * accepted, before the handshake spends any CPU on it, and reported to `listen`'s `onRefused`.
 */
export interface InboundLimits {
  /** Inbound sockets open at once, handshaking or handshaken (default: no bound). */
  maxInbound?: number
  /** Inbound sockets open at once from one remote IP address (default DEFAULT_MAX_PER_ADDRESS). */
  maxPerAddress?: number
  /** Handshakes in progress at once, from everyone (default DEFAULT_MAX_HANDSHAKES). */
  maxHandshakes?: number
}

/** Peers behind one NAT share an address; one host opening more than this is hoarding. */
export const DEFAULT_MAX_PER_ADDRESS = 8
/** A handshake takes milliseconds; this many at once is a burst or someone holding them open. */
export const DEFAULT_MAX_HANDSHAKES = 16

interface Tracked {
  destroy(): void
  traffic: Traffic
  /** Inbound sockets only: its `net:IP:PORT`, and whether its handshake is still going. */
  inbound?: { socket: string; handshaking: boolean }
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
  private readonly limits: Required<InboundLimits>
  private inboundOpen = 0
  private readonly inboundByHost = new Map<string, number>()
  /** Inbound sockets still handshaking, by their `net:IP:PORT` (what a handshake error names). */
  private readonly handshaking = new Map<string, Tracked>()
  /** Refused sockets whose aborted handshake is not a handshake failure worth reporting. */
  private readonly refusedAddresses = new Set<string>()
  private refusedCount = 0
  private closeServer: ((cb: (err?: Error | null) => void) => void) | null = null
  private listenAddress: string | null = null
  private closed = false

  constructor(options: TransportOptions) {
    this.options = options
    this.id = options.identity.id
    this.shs = createShs(options)
    const { maxInbound = Infinity, maxPerAddress = DEFAULT_MAX_PER_ADDRESS, maxHandshakes = DEFAULT_MAX_HANDSHAKES } = options.inbound ?? {}
    for (const [name, value] of [['maxInbound', maxInbound], ['maxPerAddress', maxPerAddress], ['maxHandshakes', maxHandshakes]] as const) {
      if (!(value >= 1) || (value !== Infinity && !Number.isInteger(value))) throw new RangeError(`inbound.${name} must be a whole number ≥ 1, not ${value}`)
    }
    this.limits = { maxInbound, maxPerAddress, maxHandshakes }
    // Dialing needs no listening socket: the net plugin's client half is all that is used.
    this.client = MultiServer([[Net({ host: '127.0.0.1', port: 1 }), this.shs]], (stream) => this.track(stream))
  }

  /** The address we listen on, once `listen` has resolved. */
  get address(): string | null {
    return this.listenAddress
  }

  /** Inbound sockets closed on arrival for being over an InboundLimits bound, since we started. */
  get refused(): number {
    return this.refusedCount
  }

  /**
   * Starts accepting connections; each one that completes the handshake goes to `onConnection`,
   * each that fails it (garbage, wrong caps, refused, timed out) to `onHandshakeError`, each
   * closed on arrival for being over a limit to `onRefused`.
   */
  async listen(
    onConnection: (connection: Connection) => void,
    onHandshakeError: (err: Error, address: string) => void,
    onRefused: (address: string, reason: string) => void = () => {},
  ): Promise<string> {
    if (this.closeServer) throw new Error('the transport is already listening')
    const host = this.options.host ?? '127.0.0.1'
    const fixedPort = this.options.port !== undefined && this.options.port !== 0
    for (let attempt = 0; ; attempt++) {
      const port = fixedPort ? this.options.port! : await freePort(host)
      try {
        await this.listenOn(host, port, onConnection, onHandshakeError, onRefused)
        this.listenAddress = formatNetShsAddress(host, port, this.id)
        return this.listenAddress
      } catch (err) {
        // A free port can be taken between finding and binding it: try another.
        if (fixedPort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw err
      }
    }
  }

  private listenOn(
    host: string,
    port: number,
    onConnection: (connection: Connection) => void,
    onHandshakeError: (err: Error, address: string) => void,
    onRefused: (address: string, reason: string) => void,
  ): Promise<void> {
    const server = MultiServer([[Net({ host, port, scope: 'device' }), this.shs]], (raw) => {
      const refusal = this.refusalOf(raw.address)
      if (refusal === null) return this.track(raw, hostOf(raw.address))
      this.refusedCount++
      this.refusedAddresses.add(raw.address)
      onRefused(raw.address, refusal)
      return refusedStream(raw)
    })
    return new Promise((resolve, reject) => {
      const close = server.server(
        (stream) => {
          const tracked = stream.meta as Tracked
          this.handshakeOver(tracked)
          if (this.closed) return destroyOf(stream)()
          onConnection(this.connectionOf(stream, true))
        },
        (err) => {
          const address = typeof err.address === 'string' ? err.address : 'unknown'
          // A handshake error names the socket as `net:IP:PORT~…`.
          const socket = address.split('~')[0]!
          if (this.refusedAddresses.delete(socket)) return
          const tracked = this.handshaking.get(socket)
          if (tracked) {
            this.handshakeOver(tracked)
            tracked.destroy()
          }
          onHandshakeError(err, address)
        },
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

  /** Why a socket from `address` (`net:IP:PORT`) may not come in, or null when it may. */
  private refusalOf(address: string): string | null {
    const { maxInbound, maxPerAddress, maxHandshakes } = this.limits
    if (this.inboundOpen >= maxInbound) return `over the limit of ${maxInbound} inbound connections`
    if ((this.inboundByHost.get(hostOf(address)) ?? 0) >= maxPerAddress) return `over the limit of ${maxPerAddress} connections from one address`
    if (this.handshaking.size >= maxHandshakes) return `over the limit of ${maxHandshakes} handshakes at once`
    return null
  }

  private handshakeOver(tracked: Tracked): void {
    if (!tracked.inbound?.handshaking) return
    tracked.inbound.handshaking = false
    this.handshaking.delete(tracked.inbound.socket)
  }

  /**
   * multiserver's wrap hook sees every raw socket stream before the handshake. Aborting its
   * source destroys the socket; the handle rides along in `meta`, which multiserver copies
   * onto the handshaken stream. `inboundHost`: the remote IP of a socket that dialed us,
   * counted against the InboundLimits until the socket is gone.
   */
  private track(raw: MultiserverStream, inboundHost?: string): MultiserverStream {
    let destroyed = false
    let counted = inboundHost !== undefined
    const forget = () => {
      this.sockets.delete(tracked)
      if (!counted) return
      counted = false
      this.handshakeOver(tracked)
      this.inboundOpen--
      const left = (this.inboundByHost.get(inboundHost!) ?? 1) - 1
      if (left > 0) this.inboundByHost.set(inboundHost!, left)
      else this.inboundByHost.delete(inboundHost!)
    }
    const tracked: Tracked = {
      traffic: newTraffic(),
      destroy: () => {
        forget()
        if (destroyed) return
        destroyed = true
        raw.source(true, () => {})
      },
      ...(inboundHost !== undefined ? { inbound: { socket: raw.address, handshaking: true } } : {}),
    }
    this.sockets.add(tracked)
    if (inboundHost !== undefined) {
      this.inboundOpen++
      this.inboundByHost.set(inboundHost, (this.inboundByHost.get(inboundHost) ?? 0) + 1)
      this.handshaking.set(raw.address, tracked)
    }
    const source: Source<Buffer> = (abort, cb) => {
      raw.source(abort, (end, data) => {
        if (end) {
          destroyed = true
          forget()
        }
        cb(end, data)
      })
    }
    const metering = metered({ source, sink: (read) => raw.sink(coalesce(read)) }, tracked.traffic)
    return { ...metering, address: raw.address, meta: tracked }
  }
}

/** The IP of a `net:IP:PORT` address, IPv4-mapped IPv6 written as IPv4 so both count as one. */
function hostOf(address: string): string {
  const host = address.slice('net:'.length, address.lastIndexOf(':'))
  return host.startsWith('::ffff:') ? host.slice('::ffff:'.length) : host
}

/** What the handshake gets of a refused socket: closed at once, before it reads a byte. */
function refusedStream(raw: MultiserverStream): MultiserverStream {
  raw.source(true, () => {})
  return {
    source: (_abort, cb) => cb(true),
    sink: (read) => read(true, () => {}),
    address: raw.address,
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
