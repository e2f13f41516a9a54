import { blobHash, isBlobId, type BlobId } from '@hearsay/keys'
import type { BlobMeta, ReadOptions } from './files.ts'
import type { BlobStore } from './store.ts'
import type { WantsMessage } from './wants.ts'
import { AsyncQueue } from './queue.ts'
import { fromPullSource, toPullSink, toPullSource, type PullSink, type PullSource } from './pull.ts'

// The `blobs` RPC namespace as ssb-blobs serves it (node_modules/ssb-blobs/index.js:7-29,
// inject.js:260-368, argument handling from multiblob/index.js), with muxrpc's stream type.
// Async methods return promises; the network layer turns them into callbacks.

/** ssb-blobs' manifest, minus `help`. */
export const blobsManifest = {
  get: 'source',
  getSlice: 'source',
  add: 'sink',
  rm: 'async',
  ls: 'source',
  has: 'async',
  size: 'async',
  meta: 'async',
  want: 'async',
  push: 'async',
  changes: 'source',
  createWants: 'source',
} as const

/** What peers that are not friends may call (ssb-blobs/index.js:27-29). */
export const blobsPermissions = {
  anonymous: { allow: ['has', 'get', 'getSlice', 'changes', 'createWants'] },
} as const

/** The two remote methods the exchange needs from a connected peer's `blobs` namespace. */
export interface RemoteBlobs {
  createWants(): PullSource<unknown>
  get(options: { key: BlobId; max: number }): PullSource<Uint8Array>
}

export interface LsOptions {
  old?: boolean
  live?: boolean
  meta?: boolean
  long?: boolean
  size?: boolean
  sync?: boolean
}

function field(arg: unknown, name: string): unknown {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[name] : undefined
}

/** `id` or `{id}`, as ssb-blobs' toBlobId takes them (inject.js:42-45); anything else is passed through to fail validation. */
function idArg(arg: unknown): BlobId {
  if (isBlobId(arg)) return arg
  const id = field(arg, 'id')
  return (isBlobId(id) ? id : arg) as BlobId
}

/** `{id|key|hash}`, as multiblob's getId reads them (multiblob/util.js:107). */
function optsId(arg: unknown): BlobId {
  return (field(arg, 'id') || field(arg, 'key') || field(arg, 'hash')) as BlobId
}

function readOptions(arg: unknown): ReadOptions {
  const size = field(arg, 'size')
  const max = field(arg, 'max')
  return { size: typeof size === 'number' ? size : undefined, max: typeof max === 'number' ? max : undefined }
}

function eachId<R>(arg: unknown, fn: (id: BlobId) => Promise<R>): Promise<R | R[]> {
  if (Array.isArray(arg)) {
    try {
      arg.forEach((id) => blobHash(id)) // reject the whole call if any id is bad, as multiblob does
    } catch (err) {
      return Promise.reject(err)
    }
    return Promise.all(arg.map((id: BlobId) => fn(id)))
  }
  return fn(idArg(arg))
}

export interface BlobsRpc {
  /** `get(id)` or `get({id|key|hash, size?, max?})`: the blob's bytes. */
  get(arg: unknown): PullSource<Buffer>
  /** `getSlice({id|key|hash, start, end, size?, max?})`: bytes [start, end). */
  getSlice(arg: unknown): PullSource<Buffer>
  /** `add(expectedId?)`: stores what is written; `done` hears the id or the error. */
  add(expected?: unknown, done?: (err: Error | null, id?: BlobId) => void): PullSink<Uint8Array | string>
  has(arg: unknown): Promise<boolean | boolean[]>
  size(arg: unknown): Promise<number | null | Array<number | null>>
  meta(arg: unknown): Promise<BlobMeta | null>
  /** Resolves `true` once the blob is here. */
  want(arg: unknown): Promise<true>
  push(arg: unknown): Promise<void>
  rm(arg: unknown): Promise<void>
  /** Stored ids (or metas with `{meta: true}`); `{live: true}` goes on with new ones after `{sync: true}`. */
  ls(options?: LsOptions): PullSource<BlobId | BlobMeta | { sync: true }>
  /** Ids of blobs as they are added (ssb-blobs' legacy `changes`). */
  changes(): PullSource<BlobId>
  /** Serves `blobs.createWants` to `peer` (muxrpc's `this.id`). */
  createWants(peer: string): PullSource<WantsMessage>
  /**
   * The other half, run when a connection to `peer` opens (ssb-blobs' _onConnect,
   * inject.js:357-364): reads the peer's createWants and fetches with its `get({key, max})`.
   * Resolves (or rejects) when the peer's stream ends.
   */
  connect(peer: string, remote: RemoteBlobs): Promise<void>
}

export function createBlobsRpc(store: BlobStore): BlobsRpc {
  function ls(options: LsOptions = {}): PullSource<BlobId | BlobMeta | { sync: true }> {
    // As pull-live reads them: `{old: false}` alone means live.
    const old = options.old !== false
    const live = options.live === true || !old
    const meta = Boolean(options.meta || options.long || options.size)
    // Subscribe before listing, so a blob added meanwhile is not missed (it may be listed twice).
    const added = live ? new AsyncQueue<BlobMeta>() : null
    const unsubscribe = added ? store.onAdd((m) => added.push(m)) : () => {}
    async function* run(): AsyncGenerator<BlobId | BlobMeta | { sync: true }> {
      try {
        if (old) yield* store.ls({ meta })
        if (old && live && options.sync !== false) yield { sync: true }
        if (added) for await (const m of added) yield meta ? m : m.id
      } finally {
        unsubscribe()
      }
    }
    return toPullSource(run(), {
      onAbort: () => {
        unsubscribe()
        added?.end()
      },
    })
  }

  return {
    get: (arg) => {
      const id = typeof arg === 'string' ? (arg as BlobId) : optsId(arg)
      return toPullSource(store.get(id, typeof arg === 'string' ? {} : readOptions(arg)))
    },
    getSlice: (arg) => {
      const start = field(arg, 'start')
      const end = field(arg, 'end')
      return toPullSource(store.getSlice(optsId(arg), start as number, end as number, readOptions(arg)))
    },
    add: (expected, done) => {
      const id = expected === undefined || expected === null ? undefined : idArg(expected)
      return toPullSink((chunks: AsyncIterable<Uint8Array | string>) => store.add(chunks, id), done)
    },
    has: (arg) => eachId(arg, (id) => store.has(id)),
    size: (arg) => eachId(arg, (id) => store.size(id)),
    meta: (arg) => store.meta(idArg(arg)),
    want: async (arg) => {
      await store.want(idArg(arg))
      return true
    },
    push: (arg) => store.push(idArg(arg)),
    rm: async (arg) => {
      await store.rm(idArg(arg))
    },
    ls,
    changes: () => ls({ old: false }) as PullSource<BlobId>,
    createWants: (peer) => {
      try {
        return toPullSource(store.wantsSession(peer).outgoing())
      } catch (err) {
        return toPullSource(Promise.reject(err)) // closed: an error stream, not a throw inside muxrpc
      }
    },
    connect: async (peer, remote) => {
      const session = store.wantsSession(peer, {
        fetch: (id, { max }) => fromPullSource(remote.get({ key: id, max })),
      })
      await session.consume(fromPullSource(remote.createWants()))
    },
  }
}
