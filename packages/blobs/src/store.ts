import path from 'node:path'
import type { Readable } from 'node:stream'
import type { BlobId } from '@hearsay/keys'
import { BlobError } from './errors.ts'
import { BlobFiles, type AddOptions, type BlobInput, type BlobMeta, type ReadOptions } from './files.ts'
import { WantList, type SessionOptions, type WantOptions, type WantsMessage, type WantsSession } from './wants.ts'

/** ssb-blobs' default for automatic fetching (inject.js:64). */
export const DEFAULT_MAX_SIZE = 5 * 1024 * 1024
/** ssb-blobs' default `sympathy`: wants further than this many hops are not passed on (inject.js:60). */
export const DEFAULT_SYMPATHY = 3
/** ssb-blobs' default `pushy` (inject.js:63). */
export const DEFAULT_PUSHY = 3

export interface BlobStoreOptions {
  /** The blobs folder, e.g. `~/.ssb/blobs`; blobs live in `<dir>/sha256/<2 hex>/<62 hex>`. */
  dir: string
  /** Largest blob fetched automatically from peers; 5 MB by default. */
  maxSize?: number
  /** How many hops away a want may come from and still be passed on and fetched for. */
  sympathy?: number
  /** How many peers must have a pushed blob before pushing stops. */
  pushy?: number
  /** Told about each fetch from a peer that failed (bad hash, too big, transfer error). */
  onFetchError?: (peer: string, id: BlobId, err: unknown) => void
}

/** Uploads younger than this survive removeUnreferenced: the post linking them may not be written yet. */
export const DEFAULT_KEEP_NEWER_THAN = 60 * 60 * 1000

export interface BlobUsage {
  count: number
  bytes: number
}

export interface RemoveUnreferencedOptions {
  /** Whether a stored message links to the blob. */
  isReferenced: (id: BlobId) => boolean | Promise<boolean>
  /** Blobs stored less than this many ms ago are kept (default an hour). */
  keepNewerThan?: number
}

export interface RemovedBlobs {
  removed: BlobId[]
  /** Bytes freed. */
  bytes: number
  /** Blobs left in place. */
  kept: number
}

/** Blobs on disk plus the want list that fetches missing ones from peers. */
export class BlobStore {
  private closed = false

  private constructor(
    private readonly files: BlobFiles,
    private readonly list: WantList,
    readonly maxSize: number,
  ) {}

  /** @internal use openBlobStore */
  static async open(options: BlobStoreOptions): Promise<BlobStore> {
    const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE
    const files = await BlobFiles.open(options.dir)
    const list = await WantList.open(files, {
      maxSize,
      sympathy: options.sympathy ?? DEFAULT_SYMPATHY,
      pushy: options.pushy ?? DEFAULT_PUSHY,
      // One level deep, so multiblob's `*/*/*` glob never takes it for a blob.
      pushFile: path.join(files.dir, 'push.json'),
      onFetchError: options.onFetchError,
    })
    return new BlobStore(files, list, maxSize)
  }

  get dir(): string {
    return this.files.dir
  }

  /** The file blob `id` is (or would be) stored in. */
  path(id: BlobId): string {
    return this.files.path(id)
  }

  /**
   * Stores the bytes and resolves with their id. With `expectedId`, bytes that hash to anything
   * else are discarded and the promise rejects with EBLOB_HASH.
   */
  add(input: BlobInput, expectedId?: BlobId, options?: AddOptions): Promise<BlobId> {
    if (this.closed) return Promise.reject(new BlobError('EBLOB_CLOSED', 'the blob store is closed'))
    return this.files.add(input, expectedId, options)
  }

  /** The blob's bytes; rejects with EBLOB_MISSING when it is not stored. */
  get(id: BlobId, options?: ReadOptions): Promise<Readable> {
    return this.files.get(id, options)
  }

  /** Bytes [start, end) of the blob (end exclusive, clamped to the blob's length). */
  getSlice(id: BlobId, start: number, end: number, options?: ReadOptions): Promise<Readable> {
    return this.files.getSlice(id, start, end, options)
  }

  has(id: BlobId): Promise<boolean> {
    return this.files.has(id)
  }

  /** Length in bytes, or null when the blob is not stored. */
  size(id: BlobId): Promise<number | null> {
    return this.files.size(id)
  }

  meta(id: BlobId): Promise<BlobMeta | null> {
    return this.files.meta(id)
  }

  ls(): AsyncIterable<BlobId>
  ls(options: { meta: true }): AsyncIterable<BlobMeta>
  ls(options?: { meta?: boolean }): AsyncIterable<BlobId | BlobMeta>
  ls(options: { meta?: boolean } = {}): AsyncIterable<BlobId | BlobMeta> {
    return this.files.ls(options)
  }

  /** Resolves true if the blob was there to delete. */
  rm(id: BlobId): Promise<boolean> {
    return this.files.rm(id)
  }

  /** How many blobs are stored and their bytes. */
  async usage(): Promise<BlobUsage> {
    const usage: BlobUsage = { count: 0, bytes: 0 }
    for await (const { size } of this.files.ls({ meta: true })) {
      usage.count++
      usage.bytes += size
    }
    return usage
  }

  /**
   * Deletes every stored blob no message links to, as `isReferenced` says, asked of each blob
   * right before it would go (so a link stored meanwhile still saves it). Blobs stored within
   * `keepNewerThan` ms stay (an upload not yet in a post), and so do blobs being pushed.
   */
  async removeUnreferenced(options: RemoveUnreferencedOptions): Promise<RemovedBlobs> {
    const keepNewerThan = options.keepNewerThan ?? DEFAULT_KEEP_NEWER_THAN
    if (!Number.isFinite(keepNewerThan) || keepNewerThan < 0) throw new RangeError(`keepNewerThan must be a number of milliseconds ≥ 0, not ${keepNewerThan}`)
    const cutoff = Date.now() - keepNewerThan
    const pushing = new Set(this.list.pushing())
    const result: RemovedBlobs = { removed: [], bytes: 0, kept: 0 }
    const stored: BlobMeta[] = []
    for await (const meta of this.files.ls({ meta: true })) stored.push(meta)
    for (const { id, size, ts } of stored) {
      if ((keepNewerThan > 0 && ts > cutoff) || pushing.has(id) || (await options.isReferenced(id))) {
        result.kept++
        continue
      }
      if (await this.files.rm(id)) {
        result.removed.push(id)
        result.bytes += size
      }
    }
    return result
  }

  /** Called with each blob's meta once it is stored (locally added or fetched). */
  onAdd(listener: (meta: BlobMeta) => void): () => void {
    return this.files.onAdd(listener)
  }

  /** Resolves when the blob is stored here; meanwhile peers are asked for it. */
  want(id: BlobId, options?: WantOptions): Promise<void> {
    return this.list.want(id, options)
  }

  /** Our current wants, id → -hops (the wire format). */
  wants(): WantsMessage {
    return this.list.wants()
  }

  /** Every want/push/have we announce to all peers, as the message that carries it. */
  onWantsChange(listener: (change: WantsMessage) => void): () => void {
    return this.list.onChange(listener)
  }

  /** Keep offering a blob we have until enough peers have taken it. */
  push(id: BlobId): Promise<void> {
    return this.list.push(id)
  }

  pushing(): BlobId[] {
    return this.list.pushing()
  }

  /**
   * The createWants exchange with `peer`, created on first use. Feed it the peer's messages
   * (`consume`/`receive`), send it what `outgoing()` yields, and give it a `fetch` for the
   * peer's blobs.
   */
  wantsSession(peer: string, options?: SessionOptions): WantsSession {
    return this.list.session(peer, options)
  }

  /** Ends every session and rejects pending wants with EBLOB_CLOSED. Reads keep working. */
  close(): void {
    this.closed = true
    this.list.close()
  }
}

export function openBlobStore(options: BlobStoreOptions): Promise<BlobStore> {
  return BlobStore.open(options)
}
