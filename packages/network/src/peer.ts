import { EventEmitter } from 'node:events'
import os from 'node:os'
import createMuxrpc, { type Manifest, type Rpc } from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import type { FeedId, Identity } from '@hearsay/keys'
import { createValidationPool, type ValidationPool } from '@hearsay/message'
import { blocked, hops, isBlocking, type BatchVerifier, type Store } from '@hearsay/store'
import { asyncMethod, createApi } from './api.ts'
import { RpcArgumentError } from './streams.ts'
import { gateServedStreams, outgoingFlow } from './backpressure.ts'
import { boundedCodec, DEFAULT_MAX_FRAME } from './codec.ts'
import { messageOf, type PeerEvent } from './events.ts'
import { MANIFEST, permissionsFor } from './manifest.ts'
import { coalesce } from './pull.ts'
import { holdable, type ReplicationPeer, type ReplicationStrategy } from './replication.ts'
import { EbtReplication } from './ebt.ts'
import { StoreNotifier } from './streams.ts'
import { DEFAULT_MAX_HANDSHAKES, Transport, type Connection, type InboundLimits } from './transport.ts'
import { listenLocal, type LocalListener } from './local.ts'
import { ConnectionManager, DEFAULT_MAX_CONNECTIONS, type ConnectionLimits, type PeerKind, type RememberedPeer } from './connections.ts'
import { StatusTracker, type PeerStatus } from './status.ts'
import { createOwnerApi } from './owner-api.ts'
import { metered, newTraffic, type Traffic } from './traffic.ts'
import { InviteError, Invites, redeemInvite, type CreateInviteOptions, type GuestAccess, type Redeemed } from './invite.ts'
import { parseAddress } from './address.ts'
import { Tunnels } from './tunnel.ts'
import { parseTunnelAddress } from './tunnel-address.ts'

export interface PeerOptions {
  store: Store
  /** Whose feed this peer publishes and who may drive it as a local client. */
  identity: Identity
  /** Interface to listen on (default 127.0.0.1); `listen: false` dials out only. */
  host?: string
  /**
   * Checks the signatures of what replication receives in bulk, on other threads (say, a
   * validation pool shared with an import); the caller closes it. Default: a pool of the peer's
   * own, on every core but the one this thread stores on, closed when the peer stops.
   */
  verifier?: BatchVerifier
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
  /** Addresses to stay connected to: remembered (as `manual` peers) and dialed whenever not connected. */
  peers?: readonly string[]
  /**
   * Rooms (ssb-room servers, or pubs started with `room`) to stay in: remembered as `room`
   * peers; through each we meet its attendants whose feeds we want (see Tunnels).
   */
  rooms?: readonly string[]
  /** Also act as a room for everyone connected to us (ssb-room's open mode). */
  room?: boolean
  /** How many peers at once, and how dialing backs off (see ConnectionManager). */
  connections?: ConnectionLimits
  /**
   * Bounds on the sockets that dial us, checked before any handshake: per remote address and
   * handshakes at once (see InboundLimits). Inbound sockets altogether are bounded by
   * `connections.max` plus `maxHandshakes`: room for every peer, and for handshakes (guests,
   * a peer replacing a dead connection) that the key checks after the handshake then decide.
   */
  inbound?: Omit<InboundLimits, 'maxInbound'>
  handshakeTimeout?: number
  /**
   * A unix socket path for local clients (the CLI while this peer runs): no handshake, every
   * method, like ssb-server's noauth socket. Put it in the owner-only data directory.
   */
  localSocket?: string
  /** Largest muxrpc frame accepted from a peer. */
  maxFrame?: number
  /**
   * Extra muxrpc namespaces, merged into the manifest and API: our own key (local clients, the
   * owner's apps) gets all of each, other peers only its `peerMethods` (see PeerPlugin).
   */
  plugins?: readonly PeerPlugin[]
  /**
   * The public host name others reach us by (a pub behind NAT or listening on 0.0.0.0): what
   * invite codes carry. Without it, codes carry the listening host, which must then be public.
   */
  external?: string
  /**
   * Keys let in for one narrow purpose besides invites' guests (which every peer admits): each
   * gets only its GuestAccess's methods, is not replicated with and not counted as a peer.
   */
  guests?: readonly GuestAccess[]
}

/** What the handshake's authorize hook decided for a key: our own, a peer, or a guest of `access`. */
type Admission = 'owner' | 'peer' | { guest: GuestAccess }

/** How long a guest may stay connected: long enough for its one call. */
const GUEST_TIMEOUT = 30_000

/**
 * A muxrpc namespace added to the peer (handlers take muxrpc callbacks / return pull-streams).
 * Our own key may call all of it; other peers only its `peerMethods`, as secret-stack's
 * `permissions.anonymous.allow` lets them.
 */
export interface PeerPlugin {
  name: string
  manifest: Manifest
  /** The handlers, or a function making them for each connection, told who is calling. */
  handlers: Record<string, unknown> | ((caller: PluginCaller) => Record<string, unknown>)
  /**
   * Methods of the namespace other peers may call (names within it, e.g. `get`). Without it
   * the namespace is our own key's only, and other peers are not told of it.
   */
  peerMethods?: readonly string[]
  /**
   * Runs when a connection to another peer opens (never for local clients), e.g. to call the
   * peer's own methods of this namespace through `connection.rpc`. `caller` is the very object
   * the handlers were made for on this connection (one per connection, even to the same peer).
   */
  onPeer?: (connection: PeerConnection, caller: PluginCaller) => void
}

/** Who a plugin's handlers serve on one connection: a new object for each connection. */
export interface PluginCaller {
  readonly id: FeedId
  /** Our own key (a local client). */
  readonly local: boolean
}

/** A live muxrpc connection as the Peer tracks it. */
export interface PeerConnection {
  readonly id: FeedId
  readonly address: string
  readonly inbound: boolean
  /** True for a client holding our own key: it gets every method and is not replicated with. */
  readonly local: boolean
  readonly rpc: Rpc
  /** Milliseconds since the epoch. */
  readonly connectedAt: number
  /** Bytes on the wire so far, each way. */
  readonly traffic: Traffic
  close(reason?: string): void
}

/** How long a peer that dialed us has to make the first replication call before we do. */
const INBOUND_GRACE = 1_000

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
  /** The peer's own verifier (see PeerOptions.verifier); its threads start on first use. */
  private readonly ownVerifier: ValidationPool | null
  private readonly open = new Set<PeerConnection & ReplicationPeer>()
  private readonly connectionManager: ConnectionManager<PeerConnection & ReplicationPeer>
  private readonly statusTracker: StatusTracker<PeerConnection & ReplicationPeer>
  private readonly ownerApi: Record<string, unknown>
  private readonly invites: Invites
  private readonly tunnels: Tunnels
  private readonly guests: readonly GuestAccess[]
  /** Open guest connections, by their closer. */
  private readonly guestConnections = new Set<() => void>()
  private unsubscribe: (() => void) | null = null
  private local: LocalListener | null = null
  private wanted: ReadonlySet<FeedId> = new Set()
  /** Follow distances as the last refresh of the wanted feeds found them. */
  private distances: ReadonlyMap<FeedId, number> = new Map()
  /** Refreshes of the wanted feeds under way. */
  private refreshing = 0
  private recompute: { running: Promise<void>; again: boolean } | null = null
  private started = false
  private stopped = false
  /** What our own key is served: the built-in manifest plus the plugins'. */
  private readonly ownerManifest: Manifest
  /** What other peers are served, and what we may call on them: the built-in manifest plus the plugins with peer methods. */
  private readonly peerManifest: Manifest
  /** The plugins' methods other peers may call, dotted (`blobs.get`). */
  private readonly pluginPeerMethods: readonly string[]

  constructor(options: PeerOptions) {
    super()
    this.id = options.identity.id
    this.tunnels = new Tunnels({
      identity: options.identity,
      ...(options.caps !== undefined ? { caps: options.caps } : {}),
      ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
      room: options.room === true,
      admits: async (remote) => (await this.authorize(remote)) === 'peer',
      adopt: (connection) => {
        this.setup(connection)
      },
      wants: (feed) => this.wanted.has(feed),
      dial: (address) => {
        if (!this.stopped) this.connect(address, 'room').catch(() => undefined)
      },
      report: (event) => this.report(event),
    })
    this.options = { ...options, plugins: [...(options.plugins ?? []), this.tunnels.plugin] }
    this.store = options.store
    this.transport = new Transport({
      identity: options.identity,
      ...(options.caps !== undefined ? { caps: options.caps } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
      inbound: {
        ...options.inbound,
        maxInbound: (options.connections?.max ?? DEFAULT_MAX_CONNECTIONS) + (options.inbound?.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES),
      },
      authorize: (remote) => this.authorize(remote),
    })
    this.notifier = new StoreNotifier(options.store)
    this.ownVerifier = options.verifier ? null : createValidationPool({ threads: Math.max(1, os.availableParallelism() - 1) })
    const verifier = options.verifier ?? this.ownVerifier!
    this.replication = new EbtReplication(options.store, (event) => this.report(event), this.id, (feed, sequence) => this.statusTracker.claim(feed, sequence), verifier)
    this.connectionManager = new ConnectionManager({
      ...options.connections,
      self: this.id,
      state: options.store.localState('conn'),
      dial: async (address) => this.setup(await (parseTunnelAddress(address) ? this.tunnels.connect(address) : this.transport.connect(address))),
      report: (event) => this.report(event),
    })
    const manager = this.connectionManager
    this.statusTracker = new StatusTracker({
      id: this.id,
      address: () => this.address,
      connections: () => manager.connections,
      kindOf: (connection) => manager.kindOf(connection),
      wantedFeeds: () => this.wanted,
      rememberedCount: () => manager.rememberedPeers().length,
      onChange: (listener) => manager.onChange(listener),
    }, options.store)
    this.on('event', (event) => this.statusTracker.observe(event))
    this.ownerApi = createOwnerApi({
      status: () => this.status(),
      statusStream: () => this.statusStream(),
      connect: async (address, kind) => {
        const opened = await this.connect(address, kind)
        return { id: opened.id, address: opened.address }
      },
      disconnect: (target) => this.disconnect(target),
      remember: (address, kind) => this.remember(address, kind),
      forget: (address) => this.forget(address),
      rememberedPeers: () => this.rememberedPeers(),
      connectedPeers: () => manager.connections.map((c) => ({ id: c.id, address: c.address, kind: manager.kindOf(c), inbound: c.inbound, connectedAt: c.connectedAt })),
      onConnectionChange: (listener) => manager.onChange(listener),
    })
    this.invites = new Invites({
      store: options.store,
      identity: options.identity,
      state: options.store.localState('invites'),
      listening: () => {
        const address = this.address
        if (address === null) return null
        const { host, port } = parseAddress(address)
        return { host, port }
      },
      ...(options.external !== undefined ? { external: options.external } : {}),
    })
    this.guests = [this.invites.guestAccess, ...(options.guests ?? [])]
    this.ownerApi = {
      ...this.ownerApi,
      // ssb-invite's names: `create` makes a code; `use` with a code redeems it (ssb-invite's `accept`).
      invite: {
        create: asyncMethod(async (options) => this.createInvite(inviteOptionsOf(options)).catch(callersMistake)),
        use: asyncMethod(async (code) => this.useInvite(code as string).catch(callersMistake)),
      },
    }
    for (const plugin of options.plugins ?? []) {
      if (Object.hasOwn(MANIFEST, plugin.name) || plugin.name === this.tunnels.plugin.name) throw new Error(`plugin name ${plugin.name} is taken by a built-in method`)
    }
    this.ownerManifest = { ...MANIFEST, ...Object.fromEntries((this.options.plugins ?? []).map((plugin) => [plugin.name, plugin.manifest])) }
    const shared = (this.options.plugins ?? []).filter((plugin) => plugin.peerMethods !== undefined)
    this.peerManifest = { ...MANIFEST, ...Object.fromEntries(shared.map((plugin) => [plugin.name, plugin.manifest])) }
    this.pluginPeerMethods = shared.flatMap((plugin) => (plugin.peerMethods ?? []).map((method) => `${plugin.name}.${method}`))
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
      if (typeof content === 'object' && content.type === 'contact' && this.mayChangeWanted(message.value.author)) this.scheduleRefresh()
    })
    if (this.options.listen !== false) {
      const address = await this.transport.listen(
        (connection) => {
          const admission = connection.auth as Admission | undefined
          if (typeof admission === 'object') this.setupGuest(connection, admission.guest)
          else this.setup(connection)
        },
        (err, address) => this.report({ event: 'handshake-failed', address, reason: err.message }),
        (address, reason) => this.report({ event: 'refused', address, reason, refused: this.transport.refused }),
      )
      this.report({ event: 'listening', address })
    }
    if (this.options.localSocket !== undefined) {
      const path = this.options.localSocket
      this.local = await listenLocal(path, (stream, destroy) => {
        const traffic = newTraffic()
        this.setup({ remote: this.id, address: `unix:${path}`, inbound: true, stream: metered(stream, traffic), traffic, destroy })
      })
    }
    this.statusTracker.start()
    await this.connectionManager.start([
      ...(this.options.peers ?? []).map((address) => ({ address })),
      ...(this.options.rooms ?? []).map((address) => ({ address, kind: 'room' as const })),
    ])
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe?.()
    this.statusTracker.stop()
    await this.connectionManager.stop()
    await this.replication.close()
    this.notifier.close()
    for (const connection of [...this.open]) connection.close('the peer is stopping')
    for (const close of [...this.guestConnections]) close()
    await this.local?.close()
    await this.transport.close()
    await this.recompute?.running.catch(() => undefined)
    await this.ownVerifier?.close()
  }

  /**
   * Dials `address` (`net:HOST:PORT~shs:KEY`, or `tunnel:@ROOM:@TARGET~shs:TARGET` through a room we are in) and starts replicating with it; when connected to
   * its key already, that connection is the answer. Never our own address.
   */
  async connect(address: string, kind?: PeerKind): Promise<PeerConnection> {
    if (this.stopped) throw new Error('the peer is stopped')
    return this.connectionManager.connect(address, kind)
  }

  /** Closes the connections to `target` (address or feed id), not redialled until connected again. */
  disconnect(target: string): number {
    return this.connectionManager.disconnect(target)
  }

  /** Remembers a peer to stay connected to, now and after restarts. */
  remember(address: string, kind?: PeerKind): Promise<RememberedPeer> {
    return this.connectionManager.remember(address, kind)
  }

  /** Stops remembering a peer (an open connection to it stays). */
  forget(address: string): Promise<boolean> {
    return this.connectionManager.forget(address)
  }

  rememberedPeers(): RememberedPeer[] {
    return this.connectionManager.rememberedPeers()
  }

  /** Connected peers, replication progress and rates, now. */
  status(): PeerStatus {
    return this.statusTracker.snapshot()
  }

  /** The status now and again whenever it changes, until the source is aborted. */
  statusStream(): Source<PeerStatus> {
    return this.statusTracker.stream()
  }

  /** Follow-graph distance replicated: `replicate.hops` until setHops changes it. */
  get hops(): number {
    return this.hopsOverride ?? this.options.replicate?.hops ?? 2
  }

  /** Replicates `hops` deep in the follow graph from now on; resolves with the feeds then wanted. */
  setHops(hops: number): Promise<ReadonlySet<FeedId>> {
    if (!Number.isInteger(hops) || hops < 0) throw new RangeError(`hops must be a whole number ≥ 0, not ${hops}`)
    this.hopsOverride = hops
    return this.refreshWanted()
  }

  private hopsOverride: number | null = null

  /** Recomputes the wanted feeds now (start and contact messages do this by themselves). */
  async refreshWanted(): Promise<ReadonlySet<FeedId>> {
    this.refreshing++
    try {
      const distances = await hops(this.store, this.id, this.hops)
      const feeds = new Set<FeedId>(distances.keys())
      const listed = this.options.replicate?.feeds ?? []
      if (listed.length > 0) {
        // One read of whom we block, not one per listed feed: this runs again on contact messages.
        const blocking = new Set(await blocked(this.store, this.id))
        for (const feed of listed) if (feed !== this.id && !blocking.has(feed)) feeds.add(feed)
      }
      this.distances = distances
      if (!this.stopped && !sameSet(feeds, this.wanted)) {
        this.wanted = feeds
        this.replication.setWanted(feeds)
        this.tunnels.wantedChanged()
        this.report({ event: 'wanted', feeds: feeds.size })
      }
      return this.wanted
    } finally {
      this.refreshing--
    }
  }

  /**
   * Whether a contact message by `author` can change the wanted feeds: ours (follows and blocks),
   * or one by a feed whose follows the walk takes (nearer than the hops limit). Anyone's might
   * while a refresh is under way, which may have read that author's follows already.
   */
  private mayChangeWanted(author: FeedId): boolean {
    if (this.refreshing > 0 || author === this.id) return true
    const distance = this.distances.get(author)
    return distance !== undefined && distance < this.hops
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

  /**
   * A new invite code for `uses` newcomers (see Invites.create): needs a public host, ours
   * (`external`, or a listening host that is public) or the one given.
   */
  createInvite(options?: CreateInviteOptions): Promise<string> {
    return this.invites.create(options)
  }

  /**
   * Redeems a pub's invite code as ssb-invite's `accept` does (the pub follows us, we follow
   * and announce it), then remembers the pub as kind `pub` and connects to it.
   */
  async useInvite(code: string): Promise<Redeemed> {
    if (this.stopped) throw new Error('the peer is stopped')
    const redeemed = await redeemInvite({ code, identity: this.options.identity, store: this.store, ...(this.options.caps !== undefined ? { caps: this.options.caps } : {}) })
    await this.remember(redeemed.address, 'pub')
    await this.connect(redeemed.address, 'pub').catch((err: unknown) => {
      // Followed both ways already: the connection manager keeps redialling it.
      this.report({ event: 'connect-failed', address: redeemed.address, reason: messageOf(err) })
    })
    return redeemed
  }

  /**
   * Who may connect and as what: our own key is the owner; a guest key (an unused invite's)
   * a guest; we refuse feeds we block; everyone else is a peer.
   */
  private async authorize(remote: FeedId): Promise<Admission | false> {
    if (remote === this.id) return 'owner'
    for (const guest of this.guests) {
      const admitted = await guest.admits(remote)
      if (admitted !== null) return admitted ? { guest } : false
    }
    if (!this.connectionManager.admits(remote)) return false
    return (await isBlocking(this.store, this.id, remote)) ? false : 'peer'
  }

  /** A guest gets its access's namespace and `manifest`, nothing else, and not for long. */
  private setupGuest(connection: Connection, access: GuestAccess): void {
    const manifest = { manifest: 'sync', [access.name]: access.manifest } as Manifest
    const api = { manifest: () => manifest, [access.name]: access.handlers(connection.remote) }
    const allowed = ['manifest', ...Object.keys(access.manifest).map((method) => `${access.name}.${method}`)]
    const rpc = createMuxrpc({}, manifest, api, { allow: allowed }, boundedCodec(this.options.maxFrame ?? DEFAULT_MAX_FRAME, () => close(), { redactErrors: true }))
    const timer = setTimeout(() => close(), GUEST_TIMEOUT)
    timer.unref()
    const close = () => {
      clearTimeout(timer)
      if (!this.guestConnections.delete(close)) return
      rpc.close(new Error('guest connection closed'), () => {})
      connection.destroy()
    }
    this.guestConnections.add(close)
    rpc.once('closed', close)
    pull(connection.stream, rpc.stream, connection.stream)
  }

  private setup(connection: Connection): PeerConnection & ReplicationPeer {
    const local = connection.remote === this.id
    const kept = this.connectionManager.settle(connection.remote, connection.inbound)
    if (kept) {
      connection.destroy()
      this.report({ event: 'duplicate', peer: connection.remote, address: connection.address, inbound: connection.inbound })
      return kept
    }
    // A peer that dialed us starts replicating first, as ssb-replicate expects: it only begins
    // fetching from us once we call createHistoryStream, and a call that arrives while its
    // connection is still being set up is missed. So on inbound connections we make our calls
    // after its first one (or after INBOUND_GRACE if it never makes any).
    let startReplication = () => {}
    const api = createApi({
      onHistoryStream: () => startReplication(),
      ebtReplicate: local ? undefined : (options) => {
        const duplex = this.replication.accept(handle, options)
        startReplication()
        return duplex
      },
      store: this.store,
      identity: this.options.identity,
      notifier: this.notifier,
      remote: connection.remote,
      owner: this.ownerApi,
      connect: async (address) => {
        const opened = await this.connect(address)
        return { id: opened.id, address: opened.address }
      },
    })
    // A peer breaking the wire format is cut off (the codec has already ended the stream).
    const codec = boundedCodec(this.options.maxFrame ?? DEFAULT_MAX_FRAME, (reason) => handle.cutOff(reason), { redactErrors: !local })
    const manifest = local ? this.ownerManifest : this.peerManifest
    const caller: PluginCaller = { id: connection.remote, local }
    const plugins = (this.options.plugins ?? []).filter((plugin) => local || plugin.peerMethods !== undefined)
    const served = plugins.length > 0
      ? {
          ...api,
          manifest: () => manifest,
          ...Object.fromEntries(plugins.map((plugin) => [plugin.name, typeof plugin.handlers === 'function' ? plugin.handlers(caller) : plugin.handlers])),
        }
      : api
    const flow = outgoingFlow()
    const rpc = createMuxrpc(local ? MANIFEST : this.peerManifest, manifest, gateServedStreams(served, manifest, flow), permissionsFor(local, this.pluginPeerMethods), codec)
    let closed = false
    const handle: PeerConnection & ReplicationPeer = {
      id: connection.remote,
      address: connection.address,
      inbound: connection.inbound,
      local,
      rpc,
      connectedAt: Date.now(),
      traffic: connection.traffic,
      get closed() {
        return closed || rpc.closed
      },
      createHistoryStream: (options) => (rpc.createHistoryStream as (options: unknown) => Source<unknown>)(options),
      ebtReplicate: (options, done) => (rpc.ebt as { replicate: ReplicationPeer['ebtReplicate'] }).replicate(options, done),
      holdReading: (hold) => reading.hold(hold),
      cutOff: (reason) => {
        if (closed) return
        this.report({ event: 'cut-off', peer: connection.remote, address: connection.address, reason })
        handle.close(reason)
      },
      close: (reason) => {
        if (closed) return
        closed = true
        closeReason = reason
        rpc.close(new Error(reason ?? 'closed'), () => {})
        connection.destroy()
        finish(reason)
      },
    }
    let finished = false
    /** Why we closed it, for the `disconnected` event (muxrpc's `closed` comes first). */
    let closeReason: string | undefined
    const finish = (reason?: string) => {
      if (finished) return
      finished = true
      closed = true
      this.open.delete(handle)
      this.replication.detach(handle)
      connection.destroy()
      this.connectionManager.closed(handle)
      this.report({ event: 'disconnected', peer: connection.remote, address: connection.address, ...(reason ? { reason } : {}) })
    }
    rpc.once('closed', () => finish(closeReason))
    this.open.add(handle)
    this.connectionManager.opened(handle)
    const reading = holdable(connection.stream.source)
    const wire = { source: reading.source, sink: connection.stream.sink }
    pull(wire, { source: coalesce(flow.wire(rpc.stream.source as Source<Buffer>), 64 * 1024, { gather: true }), sink: rpc.stream.sink }, wire)
    this.report({ event: 'connected', peer: connection.remote, address: connection.address, inbound: connection.inbound, local })
    if (!local && !rpc.closed) for (const plugin of plugins) plugin.onPeer?.(handle, caller)
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

  private report(event: PeerEvent): void {
    this.emit('event', event)
  }
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false
  for (const item of a) if (!b.has(item)) return false
  return true
}

/** A code or options that make no sense are the caller's mistake: an argument error, as for other methods. */
function callersMistake(err: unknown): never {
  if (err instanceof InviteError && (err.code === 'EINVITE_MALFORMED' || err.code === 'EINVITE_BAD_ARGUMENT')) throw new RpcArgumentError(err.message)
  throw err
}

/** invite.create's options as the CLI sends them (`--uses 3 --note text`), or a bare count as ssb-invite takes. */
function inviteOptionsOf(value: unknown): CreateInviteOptions {
  if (value === undefined || value === null) return {}
  if (typeof value === 'number') return { uses: value }
  if (typeof value !== 'object' || Array.isArray(value)) throw new RpcArgumentError('invite.create takes {uses, note, external} or a number of uses')
  const { uses, note, external } = value as Record<string, unknown>
  if (uses !== undefined && typeof uses !== 'number') throw new RpcArgumentError(`invite.create: uses must be a number, not ${JSON.stringify(uses)?.slice(0, 80)}`)
  if (note !== undefined && typeof note !== 'string') throw new RpcArgumentError('invite.create: note must be text')
  if (external !== undefined && typeof external !== 'string') throw new RpcArgumentError('invite.create: external must be a host name')
  return { ...(uses !== undefined ? { uses } : {}), ...(note !== undefined ? { note } : {}), ...(external !== undefined ? { external } : {}) }
}
