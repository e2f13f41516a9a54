import { generateIdentity, type FeedId, type Identity } from '@hearsay/keys'
import type { ClientApiSpec, Handlers } from '@hearsay/client-api'
import { DEFAULT_KEEP_NEWER_THAN, openBlobStore, type BlobStore } from '@hearsay/blobs'
import { DEFAULT_MAX_CONNECTIONS, Peer, announcePub, isPublicHost, type PeerEvent, type PeerOptions } from '@hearsay/network'
import type { Store } from '@hearsay/store'
import { blobsPath, openDataDirStore, prepareDataDir, replaceSecret, socketPath } from './data-dir.ts'
import { createHandlers, type Session } from './handlers.ts'
import { RestoreGuard } from './restore-guard.ts'
import { clientApiPlugin } from './muxrpc-plugin.ts'
import { blobsPlugin, fetchLinkedBlobs } from './blobs-plugin.ts'
import { reachableFromLan, startLanDiscovery, type LanOptions } from './lan.ts'
import { SessionSettings, savedSettings } from './settings.ts'
import { PeopleDirectory } from './people.ts'
import { StatusTracker } from './status.ts'
import { ViewBuilder } from './views.ts'

export interface AppOptions {
  /** The data directory (see defaultDataDir); made, with a new identity, on first run. */
  dataDir: string
  /** Interface to listen on (default 127.0.0.1). */
  host?: string
  /** Port to listen on; 0 or omitted picks a free one. */
  port?: number
  /** False: dial out only. */
  listen?: boolean
  /** Secret-handshake caps key of a private network (default: the main network). */
  caps?: string
  /** The public host name others reach us by: what invite codes and the pub announcement carry. */
  external?: string
  /** Most peers connected at once (default DEFAULT_MAX_CONNECTIONS). */
  maxConnections?: number
  /** Bounds on the sockets that dial us, checked before the handshake (see Peer's `inbound`). */
  inbound?: PeerOptions['inbound']
  /**
   * Run as a pub: announce our public address (`external`, else the listening host, which must
   * then be public) with a `pub` message, once per address.
   */
  pub?: boolean
  /** Follow-graph distance to replicate (default 2). */
  hops?: number
  /** Addresses (`net:HOST:PORT~shs:KEY`) to stay connected to. */
  peers?: readonly string[]
  /** Rooms (`net:HOST:PORT~shs:KEY` of an ssb-room or a pub run with `room`) to stay in, meeting the peers we follow there. */
  rooms?: readonly string[]
  /** Also act as a room: everyone connected may meet the others through us (ssb-room's open mode). */
  room?: boolean
  /** Feeds to replicate whatever the follow graph says. */
  replicate?: readonly FeedId[]
  /** Told of every peer event (connections, replication, …). */
  onEvent?: (event: PeerEvent) => void
  /**
   * LAN discovery: announce us (ssb-lan beacons, mDNS) and dial the peers heard of. On by
   * default, but only when listening on an address the LAN can reach (not loopback); false:
   * off; an object: on wherever we listen, with those discovery settings.
   */
  lan?: boolean | LanOptions
  /** Largest blob fetched automatically for messages of replicated feeds (default 5 MB). */
  blobMaxSize?: number
  /** Reclaiming space keeps unlinked blobs younger than this many ms: uploads whose post is not written yet (default an hour). */
  blobGracePeriod?: number
}

export interface App {
  /** Our feed id (it changes if adoptSecret swaps the identity). */
  readonly id: FeedId
  readonly peer: Peer
  readonly store: Store
  readonly blobs: BlobStore
  readonly handlers: Handlers<ClientApiSpec>
  readonly dataDir: string
  /** Whether this start created the identity (the data directory was new). */
  readonly created: boolean
  /** Stops the peer and closes the stores. */
  close(): Promise<void>
}

/**
 * The app's backend, as `hearsay start` and the desktop app run it: prepares the data directory
 * (identity on first run), opens the store and blob store, starts the peer (serving the client
 * API as muxrpc namespace `hearsay` to our own key), and returns the client API's handlers.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const { dataDir } = options
  if (options.pub && options.external === undefined && !isPublicHost(options.host ?? '127.0.0.1')) {
    throw new RangeError(`a pub needs a public address, and ${options.host ?? '127.0.0.1'} is not one: give external (its public host name)`)
  }
  const { identity, created } = await prepareDataDir(dataDir, generateIdentity)
  const status = new StatusTracker()
  const blobs = await openBlobStore({ dir: blobsPath(dataDir), ...(options.blobMaxSize !== undefined ? { maxSize: options.blobMaxSize } : {}) })
  /** What each session runs beside its peer, stopped before the peer is. */
  const sessionExtras = new WeakMap<Session, () => Promise<void>>()
  let session: Session
  let switching: Promise<void> | null = null
  let closed = false
  let port = options.port

  const context = {
    blobs,
    status,
    dataDir,
    blobGracePeriod: options.blobGracePeriod ?? DEFAULT_KEEP_NEWER_THAN,
    async session() {
      while (switching) await switching
      if (closed) throw new Error('the app is closed')
      return session
    },
    async adopt(next: Identity) {
      if (switching) throw new Error('an identity change is already under way')
      const run = (async () => {
        await endSession(session)
        await replaceSecret(dataDir, next)
        session = await openSession(next)
      })()
      switching = run.finally(() => (switching = null))
      await run
    },
  }
  const handlers = createHandlers(context)
  const plugin = clientApiPlugin(handlers)

  async function openSession(owner: Identity): Promise<Session> {
    const opened = await openDataDirStore(dataDir, owner, { onIndexProgress: (progress) => status.indexProgress(progress) })
    try {
      const restore = await RestoreGuard.open(opened, owner.id)
      // Everything that publishes (the handlers, the owner's `hearsay publish`) goes through this.
      const store = restore.guard(opened)
      const host = options.host ?? '127.0.0.1'
      // What the person chose in Settings wins over how the app was started.
      const saved = await savedSettings(store, { hops: options.hops ?? 2, lan: options.lan === undefined ? reachableFromLan(host) : options.lan !== false })
      const peer = new Peer({
        store,
        identity: owner,
        host: options.host ?? '127.0.0.1',
        ...(port !== undefined ? { port } : {}),
        ...(options.listen !== undefined ? { listen: options.listen } : {}),
        ...(options.caps !== undefined ? { caps: options.caps } : {}),
        ...(options.external !== undefined ? { external: options.external } : {}),
        ...(options.maxConnections !== undefined ? { connections: { max: options.maxConnections } } : {}),
        ...(options.inbound !== undefined ? { inbound: options.inbound } : {}),
        peers: options.peers ?? [],
        rooms: options.rooms ?? [],
        ...(options.room ? { room: true } : {}),
        replicate: { feeds: options.replicate ?? [], hops: saved.hops },
        localSocket: socketPath(dataDir),
        plugins: [plugin, blobsPlugin(blobs)],
      })
      if (options.onEvent) peer.on('event', options.onEvent)
      status.track(peer)
      restore.watch(peer)
      // Before the peer starts, so no message it replicates goes unread for links.
      const stopFetching = await fetchLinkedBlobs(store, blobs, () => peer.wantedFeeds)
      await peer.start()
      // A restart (new identity) listens where this one did.
      const listening = peer.address?.match(/^net:[^~]*:(\d+)~/)
      if (listening) port = Number(listening[1])
      if (options.pub && listening) await announcePub(store, owner, { host: options.external ?? options.host ?? '127.0.0.1', port: Number(listening[1]) })
      // LAN discovery runs only where the LAN can reach us (or where an object of settings asks for it).
      const lanReachable = typeof options.lan === 'object' || reachableFromLan(host)
      const startLan = () => lanReachable && peer.address !== null
        ? startLanDiscovery({
            peer, identity: owner, host, maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
            ...(options.caps !== undefined ? { caps: options.caps } : {}),
            ...(typeof options.lan === 'object' ? { lan: options.lan } : {}),
          }).catch((err: unknown) => {
            // The peer works without it (peers can still be dialled by address): say why, carry on.
            options.onEvent?.({ event: 'error', reason: `LAN discovery could not start: ${err instanceof Error ? err.message : String(err)}` })
            return null
          })
        : Promise.resolve(null)
      const settings = new SessionSettings(store, peer, saved, startLan)
      await settings.start()
      const session: Session = { identity: owner, store, peer, views: new ViewBuilder(store, owner.id), people: new PeopleDirectory(store, owner.id), ended: new AbortController(), restore, settings }
      sessionExtras.set(session, async () => {
        await settings.stop()
        await stopFetching()
      })
      return session
    } catch (err) {
      await opened.close().catch(() => undefined)
      throw err
    }
  }

  async function endSession(ending: Session): Promise<void> {
    ending.ended.abort()
    ending.people.close()
    ending.restore.close()
    await sessionExtras.get(ending)?.()
    await ending.peer.stop()
    await ending.store.close()
  }

  try {
    session = await openSession(identity)
  } catch (err) {
    blobs.close()
    throw err
  }

  return {
    get id() {
      return session.identity.id
    },
    get peer() {
      return session.peer
    },
    get store() {
      return session.store
    },
    blobs,
    handlers,
    dataDir,
    created,
    async close() {
      if (closed) return
      while (switching) await switching.catch(() => undefined)
      closed = true
      status.close()
      await endSession(session)
      blobs.close()
    },
  }
}
