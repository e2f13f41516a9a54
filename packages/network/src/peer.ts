import { EventEmitter } from 'node:events'
import createMuxrpc, { type Rpc } from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import type { FeedId, Identity } from '@hearsay/keys'
import { hops, isBlocking, type Store } from '@hearsay/store'
import { createApi } from './api.ts'
import { boundedCodec, DEFAULT_MAX_FRAME } from './codec.ts'
import type { PeerEvent } from './events.ts'
import { MANIFEST, permissionsFor } from './manifest.ts'
import { HistoryStreamReplication, type ReplicationPeer, type ReplicationStrategy } from './replication.ts'
import { StoreNotifier } from './streams.ts'
import { Transport, type Connection } from './transport.ts'
import { listenLocal, type LocalListener } from './local.ts'

export interface PeerOptions {
  store: Store
  /** Whose feed this peer publishes and who may drive it as a local client. */
  identity: Identity
  /** Interface to listen on (default 127.0.0.1); `listen: false` dials out only. */
  host?: string
  /** Port to listen on; 0 or omitted picks a free one. */
  port?: number
  listen?: boolean
  /** The network's secret-handshake caps key (default: the main network's). */
  caps?: string | Uint8Array
  replicate?: {
    /** Feeds to fetch whatever the follow graph says (blocked ones still excluded). */
    feeds?: readonly FeedId[]
    /** Follow-graph distance to replicate: 0 only us (and `feeds`), 1 whom we follow, 2 (default) their follows too. */
    hops?: number
  }
  /** Addresses to stay connected to: dialed on start and again after every disconnect. */
  peers?: readonly string[]
  handshakeTimeout?: number
  /**
   * A unix socket path for local clients (the CLI while this peer runs): no handshake, every
   * method, like ssb-server's noauth socket. Put it in the owner-only data directory.
   */
  localSocket?: string
  /** Largest muxrpc frame accepted from a peer. */
  maxFrame?: number
}

/** A live muxrpc connection as the Peer tracks it. */
export interface PeerConnection {
  readonly id: FeedId
  readonly address: string
  readonly inbound: boolean
  /** True for a client holding our own key: it gets every method and is not replicated with. */
  readonly local: boolean
  readonly rpc: Rpc
  close(reason?: string): void
}

/** How long a peer that dialed us has to make the first replication call before we do. */
const INBOUND_GRACE = 1_000
const REDIAL_MIN = 1_000
const REDIAL_MAX = 60_000

interface Dialer {
  address: string
  attempts: number
  timer: NodeJS.Timeout | null
  connected: boolean
}

/**
 * A Scuttlebutt peer over a store: listens for and dials secret-handshake connections, serves
 * the ssb-server-shaped RPC surface, and replicates the feeds we want (us, the `feeds` list and
 * the follow graph up to `hops`, never blocked ones) from every connected peer.
 * Emits each PeerEvent as `event`.
 */
export class Peer extends EventEmitter<{ event: [PeerEvent] }> {
  readonly id: FeedId
  readonly store: Store
  private readonly options: PeerOptions
  private readonly transport: Transport
  private readonly notifier: StoreNotifier
  private readonly replication: ReplicationStrategy
  private readonly open = new Set<PeerConnection & ReplicationPeer>()
  private readonly dialers = new Map<string, Dialer>()
  private unsubscribe: (() => void) | null = null
  private local: LocalListener | null = null
  private wanted: ReadonlySet<FeedId> = new Set()
  private recompute: { running: Promise<void>; again: boolean } | null = null
  private started = false
  private stopped = false

  constructor(options: PeerOptions) {
    super()
    this.options = options
    this.id = options.identity.id
    this.store = options.store
    this.transport = new Transport({
      identity: options.identity,
      ...(options.caps !== undefined ? { caps: options.caps } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
      authorize: (remote) => this.authorize(remote),
    })
    this.notifier = new StoreNotifier(options.store)
    this.replication = new HistoryStreamReplication(options.store, (event) => this.report(event))
  }

  /** The local client socket's path, once listening on it. */
  get localSocket(): string | null {
    return this.local?.path ?? null
  }

  /** Our `net:HOST:PORT~shs:KEY` address once started (null when not listening). */
  get address(): string | null {
    return this.transport.address
  }

  /** Connections open now. */
  get connections(): readonly PeerConnection[] {
    return [...this.open]
  }

  /** The feeds replication currently asks peers for. */
  get wantedFeeds(): ReadonlySet<FeedId> {
    return this.wanted
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the peer is already started')
    this.started = true
    await this.refreshWanted()
    // Follows and blocks change what we want.
    this.unsubscribe = this.store.subscribe((message) => {
      const content = message.value.content as { type?: unknown } | string
      if (typeof content === 'object' && content.type === 'contact') this.scheduleRefresh()
    })
    if (this.options.listen !== false) {
      const address = await this.transport.listen(
        (connection) => this.setup(connection),
        (err, address) => this.report({ event: 'handshake-failed', address, reason: err.message }),
      )
      this.report({ event: 'listening', address })
    }
    if (this.options.localSocket !== undefined) {
      const path = this.options.localSocket
      this.local = await listenLocal(path, (stream, destroy) => {
        this.setup({ remote: this.id, address: `unix:${path}`, inbound: true, stream, destroy })
      })
    }
    for (const address of this.options.peers ?? []) this.keepConnected(address)
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe?.()
    for (const dialer of this.dialers.values()) if (dialer.timer) clearTimeout(dialer.timer)
    this.dialers.clear()
    this.replication.close()
    this.notifier.close()
    for (const connection of [...this.open]) connection.close('the peer is stopping')
    await this.local?.close()
    await this.transport.close()
    await this.recompute?.running.catch(() => undefined)
  }

  /** Dials `address` (`net:HOST:PORT~shs:KEY`) and starts replicating with it. */
  async connect(address: string): Promise<PeerConnection> {
    if (this.stopped) throw new Error('the peer is stopped')
    const connection = await this.transport.connect(address)
    return this.setup(connection)
  }

  /** Recomputes the wanted feeds now (start and contact messages do this by themselves). */
  async refreshWanted(): Promise<ReadonlySet<FeedId>> {
    const feeds = new Set<FeedId>([this.id])
    const maxHops = this.options.replicate?.hops ?? 2
    if (maxHops > 0) for (const feed of (await hops(this.store, this.id, maxHops)).keys()) feeds.add(feed)
    for (const feed of this.options.replicate?.feeds ?? []) {
      if (feed !== this.id && !(await isBlocking(this.store, this.id, feed))) feeds.add(feed)
    }
    if (!this.stopped && !sameSet(feeds, this.wanted)) {
      this.wanted = feeds
      this.replication.setWanted(feeds)
      this.report({ event: 'wanted', feeds: feeds.size })
    }
    return this.wanted
  }

  private scheduleRefresh(): void {
    if (this.stopped) return
    if (this.recompute) {
      this.recompute.again = true
      return
    }
    const state = { again: false, running: Promise.resolve() }
    this.recompute = state
    state.running = (async () => {
      do {
        state.again = false
        try {
          await this.refreshWanted()
        } catch (err) {
          if (!this.stopped) this.report({ event: 'error', reason: `could not work out which feeds to replicate: ${messageOf(err)}` })
        }
      } while (state.again && !this.stopped)
      this.recompute = null
    })()
  }

  /** Who may connect: we refuse feeds we block; everyone else gets the peer methods. */
  private async authorize(remote: FeedId): Promise<unknown> {
    if (remote === this.id) return true
    return !(await isBlocking(this.store, this.id, remote))
  }

  private setup(connection: Connection): PeerConnection {
    const local = connection.remote === this.id
    // A peer that dialed us starts replicating first, as ssb-replicate expects: it only begins
    // fetching from us once we call createHistoryStream, and a call that arrives while its
    // connection is still being set up is missed. So on inbound connections we make our calls
    // after its first one (or after INBOUND_GRACE if it never makes any).
    let startReplication = () => {}
    const api = createApi({
      onHistoryStream: () => startReplication(),
      store: this.store,
      identity: this.options.identity,
      notifier: this.notifier,
      remote: connection.remote,
      connect: async (address) => {
        const opened = await this.connect(address)
        return { id: opened.id, address: opened.address }
      },
    })
    // A peer breaking the wire format is cut off (the codec has already ended the stream).
    const codec = boundedCodec(this.options.maxFrame ?? DEFAULT_MAX_FRAME, (reason) => handle.cutOff(reason))
    const rpc = createMuxrpc(MANIFEST, MANIFEST, api, permissionsFor(local), codec)
    let closed = false
    const handle: PeerConnection & ReplicationPeer = {
      id: connection.remote,
      address: connection.address,
      inbound: connection.inbound,
      local,
      rpc,
      get closed() {
        return closed || rpc.closed
      },
      createHistoryStream: (options) => (rpc.createHistoryStream as (options: unknown) => Source<unknown>)(options),
      cutOff: (reason) => {
        if (closed) return
        this.report({ event: 'cut-off', peer: connection.remote, address: connection.address, reason })
        handle.close(reason)
      },
      close: (reason) => {
        if (closed) return
        closed = true
        rpc.close(new Error(reason ?? 'closed'), () => {})
        connection.destroy()
        finish(reason)
      },
    }
    let finished = false
    const finish = (reason?: string) => {
      if (finished) return
      finished = true
      closed = true
      this.open.delete(handle)
      this.replication.detach(handle)
      connection.destroy()
      this.report({ event: 'disconnected', peer: connection.remote, address: connection.address, ...(reason ? { reason } : {}) })
      this.connectionEnded(connection)
    }
    rpc.once('closed', () => finish())
    this.open.add(handle)
    pull(connection.stream, rpc.stream, connection.stream)
    this.report({ event: 'connected', peer: connection.remote, address: connection.address, inbound: connection.inbound, local })
    if (!local && !rpc.closed) {
      let grace: NodeJS.Timeout | null = null
      startReplication = () => {
        startReplication = () => {}
        if (grace) clearTimeout(grace)
        if (!handle.closed) this.replication.attach(handle)
      }
      if (connection.inbound) {
        grace = setTimeout(() => startReplication(), INBOUND_GRACE)
        grace.unref()
        rpc.once('closed', () => {
          if (grace) clearTimeout(grace)
        })
      } else startReplication()
    }
    if (this.stopped) handle.close('the peer is stopping')
    return handle
  }

  /** Dials `address` now and again after each disconnect or failure, backing off to a minute. */
  private keepConnected(address: string): void {
    const dialer: Dialer = { address, attempts: 0, timer: null, connected: false }
    this.dialers.set(address, dialer)
    this.dial(dialer)
  }

  private dial(dialer: Dialer): void {
    dialer.timer = null
    if (this.stopped) return
    this.connect(dialer.address).then(
      () => {
        dialer.attempts = 0
        dialer.connected = true
      },
      (err: unknown) => {
        this.report({ event: 'connect-failed', address: dialer.address, reason: messageOf(err) })
        this.redial(dialer)
      },
    )
  }

  private redial(dialer: Dialer): void {
    if (this.stopped || dialer.timer) return
    dialer.connected = false
    const delay = Math.min(REDIAL_MAX, REDIAL_MIN * 2 ** dialer.attempts) * (0.75 + Math.random() / 2)
    dialer.attempts++
    dialer.timer = setTimeout(() => this.dial(dialer), delay)
    dialer.timer.unref()
  }

  private connectionEnded(connection: Connection): void {
    if (connection.inbound || this.stopped) return
    for (const dialer of this.dialers.values()) {
      if (dialer.connected && sameTarget(dialer.address, connection)) this.redial(dialer)
    }
  }

  private report(event: PeerEvent): void {
    this.emit('event', event)
  }
}

function sameTarget(address: string, connection: Connection): boolean {
  return address.endsWith(connection.address.slice(connection.address.indexOf('~shs:')))
    && address.split('~')[0] === connection.address.split('~')[0]
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false
  for (const item of a) if (!b.has(item)) return false
  return true
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
