import { isBlobId, type BlobId, type FeedId } from '@hearsay/keys'
import { blobsManifest, blobsPermissions, createBlobsRpc, type BlobStore, type PullSource } from '@hearsay/blobs'
import type { PeerConnection, PeerPlugin, PluginCaller } from '@hearsay/network'
import type { Store } from '@hearsay/store'

type Callback = (err: Error | null, value?: unknown) => void

/** A promise-returning method as a muxrpc async handler (`...args, cb`). */
function callbackified(method: (...args: never[]) => Promise<unknown>): (...args: unknown[]) => void {
  return (...args) => {
    const cb = args.pop() as Callback
    let result: Promise<unknown>
    try {
      result = method(...(args as never[]))
    } catch (err) {
      cb(err as Error)
      return
    }
    result.then((value) => cb(null, value), (err: unknown) => cb(err as Error))
  }
}

/** The `blobs` namespace of a connected peer that speaks ssb-blobs. */
interface RemoteBlobsRpc {
  createWants(): PullSource<unknown>
  get(options: { key: BlobId; max: number }): PullSource<Uint8Array>
}

/**
 * ssb-blobs' `blobs` namespace over `store`, served as ssb-server serves it: every method to our
 * own key, `has/get/getSlice/changes/createWants` to other peers (ssb-blobs' anonymous
 * permissions). On each connection to another peer it reads that peer's `blobs.createWants` and
 * fetches the blobs we want from it with `blobs.get` (verified against their ids on arrival).
 */
export function blobsPlugin(store: BlobStore): PeerPlugin {
  const rpc = createBlobsRpc(store)
  // A wants session per connection, not per peer id as ssb-blobs keys them: when a connection
  // is replaced by another to the same peer, the old one's ending must not end the new one's.
  const sessions = new WeakMap<PluginCaller, string>()
  let opened = 0
  const sessionOf = (caller: PluginCaller): string => {
    let session = sessions.get(caller)
    if (session === undefined) sessions.set(caller, (session = `${caller.id} #${++opened}`))
    return session
  }
  return {
    name: 'blobs',
    manifest: blobsManifest,
    peerMethods: blobsPermissions.anonymous.allow,
    handlers: (caller) => ({
      get: rpc.get,
      getSlice: rpc.getSlice,
      add: (expected?: unknown) => rpc.add(expected),
      ls: rpc.ls,
      changes: rpc.changes,
      createWants: () => rpc.createWants(sessionOf(caller)),
      has: callbackified(rpc.has),
      size: callbackified(rpc.size),
      meta: callbackified(rpc.meta),
      want: callbackified(rpc.want),
      push: callbackified(rpc.push),
      rm: callbackified(rpc.rm),
    }),
    onPeer: (connection: PeerConnection, caller: PluginCaller) => {
      const remote = connection.rpc.blobs as RemoteBlobsRpc | undefined
      if (!remote) return
      // Ends when the connection does; a peer without blobs (or refusing us) just ends it sooner.
      rpc.connect(sessionOf(caller), {
        createWants: () => remote.createWants(),
        get: (options) => remote.get(options),
      }).catch(() => undefined)
    },
  }
}

/** At most this many blob links are taken from one message: a message is at most 8 KB anyway. */
const MAX_LINKS_PER_MESSAGE = 64
/** How deep into a message's content links are looked for. */
const MAX_DEPTH = 8

/**
 * The blob ids a message's content refers to: any string value that is a blob id, wherever it
 * sits (`mentions[].link`, an about's `image` or `image.link`, a post's `blob` …), as
 * ssb-ref's link extraction finds them.
 */
export function blobLinks(content: unknown, limits: { links: number; depth: number } = { links: MAX_LINKS_PER_MESSAGE, depth: MAX_DEPTH }): BlobId[] {
  const found = new Set<BlobId>()
  const walk = (value: unknown, depth: number): void => {
    if (found.size >= limits.links || depth > limits.depth) return
    if (isBlobId(value)) found.add(value)
    else if (Array.isArray(value)) for (const item of value) walk(item, depth + 1)
    else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) walk(item, depth + 1)
  }
  walk(content, 0)
  return [...found]
}

/** Where the linked blobs still to fetch are kept, so a restart goes on asking for them. */
const PENDING_STATE = 'blob-wants'

/**
 * Wants every blob that a new message of a replicated feed links to, so the wants exchange
 * fetches it from whichever connected peer has it (now or when one that has it connects
 * later), up to the blob store's size limit. The blobs still missing are kept in the store's
 * local state and wanted again on the next start. Returns the stop, which waits for the
 * writes under way.
 */
export async function fetchLinkedBlobs(store: Store, blobs: BlobStore, wanted: () => ReadonlySet<FeedId>): Promise<() => Promise<void>> {
  const pending = store.localState<number>(PENDING_STATE)
  const writes = new Set<Promise<unknown>>()
  const write = (run: () => Promise<unknown>) => {
    // A write that fails (the store closing under it) loses nothing the next start cannot redo.
    const done = run().catch(() => undefined)
    writes.add(done)
    void done.finally(() => writes.delete(done))
  }
  // Rejects only when the blob store closes; the want itself stays until the blob arrives.
  const want = (id: BlobId) => blobs.want(id).then(() => write(() => pending.del(id)), () => undefined)
  const unsubscribe = store.subscribe((message) => {
    const { author, content } = message.value
    if (typeof content !== 'object' || content === null || !wanted().has(author)) return
    for (const id of blobLinks(content)) {
      write(async () => {
        if (await blobs.has(id)) return
        await pending.put(id, Date.now())
        void want(id)
      })
    }
  })
  for (const [id] of await pending.list()) {
    // Not a blob id (the space holds nothing else), or here already (it came while we stopped).
    if (!isBlobId(id) || (await blobs.has(id))) await pending.del(id)
    else void want(id)
  }
  return async () => {
    unsubscribe()
    while (writes.size > 0) await Promise.all(writes)
  }
}
