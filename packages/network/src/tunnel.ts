import type { Transform } from 'multiserver'
import duplexPair from 'pull-pair/duplex.js'
import pull, { type Duplex, type Source } from 'pull-stream'
import { feedPublicKey, isFeedId, toFeedId, type FeedId, type Identity } from '@hearsay/keys'
import { createShs } from './transport.ts'
import type { Connection } from './transport.ts'
import type { PeerConnection, PeerPlugin, PluginCaller } from './peer.ts'
import type { PeerEvent } from './events.ts'
import { pushable, type Pushable } from './pull.ts'
import { metered, newTraffic } from './traffic.ts'
import { formatTunnelAddress, parseTunnelAddress } from './tunnel-address.ts'

/** What the tunnel needs of the Peer it serves. */
export interface TunnelHost {
  identity: Identity
  caps?: string | Uint8Array
  handshakeTimeout?: number
  /** Acts as a room for the peers connected to us (ssb-room's open mode: anyone connected). */
  room: boolean
  /** Whether a key that proved itself at the far end of a tunnel may connect as a peer. */
  admits(remote: FeedId): Promise<boolean>
  /** Takes an end-to-end handshaken tunnelled connection, as a dialled or accepted one. */
  adopt(connection: Connection): void
  /** Whether we want `feed`'s messages: such attendants are dialled through the room. */
  wants(feed: FeedId): boolean
  /** Dials a tunnel address through the connection manager, as kind `room`. */
  dial(address: string): void
  report(event: PeerEvent): void
}

/** ssb-room's `tunnel` namespace, as both its room server and its clients serve it. */
export const TUNNEL_MANIFEST = {
  announce: 'sync',
  leave: 'sync',
  connect: 'duplex',
  endpoints: 'source',
  isRoom: 'async',
  ping: 'sync',
} as const

type Callback<T> = (err: Error | null, value?: T) => void

interface RemoteTunnel {
  isRoom(cb: Callback<unknown>): void
  endpoints(): Source<unknown>
  connect(options: { portal: FeedId; target: FeedId; origin?: FeedId }, cb: (err?: Error | null) => void): Duplex<Buffer, Buffer>
}

function remoteTunnel(connection: PeerConnection): RemoteTunnel {
  return (connection.rpc as unknown as { tunnel: RemoteTunnel }).tunnel
}

/**
 * Rooms, both sides of ssb-room's protocol. As an attendant: every peer we connect to is asked
 * `tunnel.isRoom`; in one that is, we subscribe to `tunnel.endpoints` (which announces us), dial
 * the attendants whose feeds we want with `tunnel.connect({portal, target})`, and accept the
 * tunnels the room opens to us (`tunnel.connect` called with `origin`). Over each tunnel runs a
 * second secret-handshake with the attendant itself, so the room relays only box-stream
 * ciphertext. As a room (`host.room`): everyone connected may announce, list the attendants and
 * be relayed to one of them.
 */
export class Tunnels {
  readonly plugin: PeerPlugin
  private readonly host: TunnelHost
  private readonly self: FeedId
  /** Rooms we attend, by key: the connection to each. */
  private readonly portals = new Map<FeedId, PeerConnection>()
  /** Who each room we attend last said is there. */
  private readonly present = new Map<FeedId, readonly FeedId[]>()
  /** Each caller's connection (the plugin's handlers are made per connection, onPeer tells which). */
  private readonly connectionOf = new WeakMap<PluginCaller, PeerConnection>()
  /** As a room: the attendants, by key. */
  private readonly attendants = new Map<FeedId, PeerConnection>()
  private readonly endpointListeners = new Set<Pushable<FeedId[]>>()
  /** The handshake we dial attendants with (accepting needs one per tunnel: it checks that tunnel's origin). */
  private readonly dialShs: Transform

  constructor(host: TunnelHost) {
    this.host = host
    this.self = host.identity.id
    this.dialShs = createShs({ identity: host.identity, ...this.handshakeOptions() })
    this.plugin = {
      name: 'tunnel',
      manifest: TUNNEL_MANIFEST,
      peerMethods: host.room ? Object.keys(TUNNEL_MANIFEST) : ['connect', 'isRoom', 'ping'],
      handlers: (caller) => this.handlers(caller),
      onPeer: (connection, caller) => this.onPeer(connection, caller),
    }
  }

  /** The rooms we attend now. */
  get rooms(): FeedId[] {
    return [...this.portals.keys()]
  }

  /** Opens a tunnel to the attendant `address` names, through its room, and handshakes with the attendant. */
  async connect(address: string): Promise<Connection> {
    const parsed = parseTunnelAddress(address)
    if (!parsed) throw new RangeError(`not a tunnel:@ROOM:@TARGET~shs:TARGET address: ${JSON.stringify(address.slice(0, 200))}`)
    const room = this.portals.get(parsed.portal)
    if (!room || room.rpc.closed) throw new Error(`not in the room ${parsed.portal}: connect to it first`)
    const raw = remoteTunnel(room).connect({ portal: parsed.portal, target: parsed.key }, () => {})
    const tracked = trackedTunnel(raw)
    const secure = await new Promise<Duplex<Buffer, Buffer>>((resolve, reject) => {
      this.dialShs.create({ key: feedPublicKey(parsed.key) })({ ...tracked.stream, address: parsed.address }, (err, stream) => {
        if (err || !stream) {
          tracked.destroy()
          return reject(new Error(`the tunnel to ${parsed.key} through ${parsed.portal} failed its handshake: ${err?.message ?? 'no stream'}`))
        }
        resolve(stream)
      })
    })
    return { remote: parsed.key, address: parsed.address, inbound: false, stream: secure, traffic: tracked.traffic, destroy: tracked.destroy }
  }

  private handshakeOptions() {
    return {
      ...(this.host.caps !== undefined ? { caps: this.host.caps } : {}),
      ...(this.host.handshakeTimeout !== undefined ? { handshakeTimeout: this.host.handshakeTimeout } : {}),
    }
  }

  private onPeer(connection: PeerConnection, caller: PluginCaller): void {
    this.connectionOf.set(caller, connection)
    connection.rpc.once('closed', () => {
      if (this.attendants.get(connection.id) === connection) this.leave(connection.id)
    })
    remoteTunnel(connection).isRoom((err, answer) => {
      // Not a room, or a peer without tunnels (ssb-server): an ordinary peer.
      if (err || !answer || connection.rpc.closed) return
      this.join(connection)
    })
  }

  /** Dials the attendants we now want, in every room we attend (the Peer calls this when the wanted feeds change). */
  wantedChanged(): void {
    for (const room of this.portals.keys()) this.dialWanted(room)
  }

  private dialWanted(room: FeedId): void {
    for (const key of this.present.get(room) ?? []) {
      if (key !== this.self && key !== room && this.host.wants(key)) this.host.dial(formatTunnelAddress(room, key))
    }
  }

  private join(room: PeerConnection): void {
    this.portals.set(room.id, room)
    this.host.report({ event: 'room-joined', room: room.id, address: room.address })
    const left = () => {
      if (this.portals.get(room.id) !== room) return
      this.portals.delete(room.id)
      this.present.delete(room.id)
    }
    room.rpc.once('closed', left)
    pull(
      remoteTunnel(room).endpoints(),
      pull.drain<unknown>(
        (endpoints) => {
          if (!Array.isArray(endpoints) || this.portals.get(room.id) !== room) return
          this.present.set(room.id, endpoints.filter(isFeedId))
          this.dialWanted(room.id)
        },
        left,
      ),
    )
  }

  private handlers(caller: PluginCaller): Record<string, unknown> {
    return {
      isRoom: (cb: Callback<unknown>) => cb(null, this.host.room),
      ping: () => Date.now(),
      announce: () => {
        this.attend(caller)
        return null
      },
      leave: () => {
        this.leave(caller.id)
        return null
      },
      endpoints: () => {
        this.attend(caller)
        const listener = pushable<FeedId[]>(() => this.endpointListeners.delete(listener))
        this.endpointListeners.add(listener)
        listener.push([...this.attendants.keys()])
        return listener.source
      },
      connect: (options: unknown) => {
        const { portal, target, origin } = (options ?? {}) as Record<string, unknown>
        if (!isFeedId(target)) return errorDuplex('tunnel.connect needs {portal, target} with a feed id as target')
        if (target === this.self) return this.accept(caller, portal, origin)
        if (!this.host.room) return errorDuplex(`could not connect to ${target}`)
        const attendant = this.attendants.get(target)
        if (!attendant || attendant.rpc.closed) return errorDuplex(`could not connect to: ${target} is not in the room`)
        // The room passes ciphertext along and says who asked; the attendant's handshake checks it.
        return remoteTunnel(attendant).connect({ portal: this.self, target, origin: caller.id }, () => {})
      },
    }
  }

  /** As a room: `caller` is in, told to everyone listening. */
  private attend(caller: PluginCaller): void {
    if (!this.host.room || caller.local) return
    const connection = this.connectionOf.get(caller)
    if (!connection || connection.rpc.closed || this.attendants.get(caller.id) === connection) return
    this.attendants.set(caller.id, connection)
    this.notifyEndpoints()
  }

  private leave(key: FeedId): void {
    if (this.attendants.delete(key)) this.notifyEndpoints()
  }

  private notifyEndpoints(): void {
    const keys = [...this.attendants.keys()]
    for (const listener of this.endpointListeners) listener.push(keys)
  }

  /**
   * A tunnel the room `caller` opens to us on behalf of `origin`: accepted only from a room we
   * attend, naming itself as portal, and only if the far end proves it holds `origin`'s key.
   */
  private accept(caller: PluginCaller, portal: unknown, origin: unknown): Duplex<Buffer, Buffer> {
    const room = this.portals.get(caller.id)
    if (!room || portal !== caller.id) return errorDuplex(`could not connect to ${this.self}: ${caller.id} is not a room we attend`)
    if (!isFeedId(origin) || origin === this.self) return errorDuplex('tunnel.connect from a room needs the origin feed id')
    const [ours, theirs] = duplexPair<Buffer>()
    const tracked = trackedTunnel(ours)
    const address = formatTunnelAddress(caller.id, origin)
    const shs = createShs({
      identity: this.host.identity,
      ...this.handshakeOptions(),
      // The room says who is calling; the handshake proves it, or the tunnel is dropped.
      authorize: async (remote) => remote === origin && (await this.host.admits(remote)),
    })
    shs.create()({ ...tracked.stream, address }, (err, stream) => {
      if (err || !stream) {
        tracked.destroy()
        this.host.report({ event: 'handshake-failed', address, reason: err?.message ?? 'no stream' })
        return
      }
      this.host.adopt({ remote: toFeedId(stream.remote!), address, inbound: true, stream, traffic: tracked.traffic, destroy: tracked.destroy })
    })
    return theirs
  }
}

/** The tunnel's byte stream, metered, with a destroy that ends both directions. */
function trackedTunnel(raw: Duplex<Buffer, Buffer>) {
  const traffic = newTraffic()
  let destroyed = false
  const stream = metered({
    source: (abort, cb) => raw.source(destroyed ? true : abort, cb),
    // Once destroyed, the next read ends what we send too.
    sink: (read) => raw.sink((abort, cb) => read(destroyed ? true : abort, cb)),
  }, traffic)
  return {
    stream,
    traffic,
    destroy: () => {
      if (destroyed) return
      destroyed = true
      raw.source(true, () => {})
    },
  }
}

/** A duplex that fails at once with `message`, as ssb-room answers a tunnel it cannot open. */
function errorDuplex(message: string): Duplex<Buffer, Buffer> {
  const err = new Error(message)
  return {
    source: (_abort, cb) => cb(err),
    sink: (read) => read(err, () => {}),
  }
}
