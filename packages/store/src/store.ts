import { promises as fs } from 'node:fs'
import { Level } from 'level'
import { toFeedId, type FeedId, type Identity, type MessageId } from '@hearsay/keys'
import { createUnboxer, unboxWithKey, type Unboxer } from '@hearsay/box1'
import {
  MessageError, checkSuccessor, createMessage, messageIdOf, verifyMessage,
  type Content, type HmacKey, type MessageValue, type ValidMessage,
} from '@hearsay/message'
import { ID_PREFIX_BYTES, feedKey, feedSequenceKey, messageIdPrefix, offsetKey, readOffset } from './keys.ts'
import { LOG_FORMAT, decodeLogEntry, encodeLogEntry } from './log-codec.ts'
import type { IndexDefinition, IndexedMessage, IndexProgress, IndexWriter } from './indexes/definition.ts'
import { defaultIndexes } from './indexes/all.ts'
import { openLocalState, type LocalState } from './local-state.ts'
import {
  StoreError,
  type AppendResult, type FeedStatus, type ForkRecord, type IndexRange, type IndexReader, type OpenStoreOptions,
  type ReadFeedOptions, type ReadLogOptions, type ReadOptions, type Store, type StoredMessage,
} from './types.ts'

type Db = Level<Buffer, Buffer>
/** In Node, `level` is classic-level, which can compact; `level`'s own types leave it out. */
type Compactable = { compactRange(start: Buffer, end: Buffer): Promise<void> }
function binarySublevel(db: Db, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
}
type Sub = ReturnType<typeof binarySublevel>
type ChainedBatch = ReturnType<Db['batch']>

/**
 * One atomic LevelDB write, built op by op. Keys go to the root database with their key space's
 * prefix (`!name!`, what the sublevel would add) already in place, through a chained batch that
 * copies each op into LevelDB's own write batch as it comes: an array batch would keep every
 * op object alive until the write, then convert each one (reading its properties, prefixing
 * its key) in one long stretch on the main thread.
 */
class WriteBatch {
  private chained: ChainedBatch | null = null
  constructor(private readonly db: Db) {}

  get empty(): boolean {
    return this.chained === null
  }

  /** `key` is the whole root key, prefix included. */
  putRaw(key: Buffer, value: Buffer): void {
    (this.chained ??= this.db.batch()).put(key, value)
  }

  put(prefix: Buffer, key: Uint8Array, value: Uint8Array): void {
    (this.chained ??= this.db.batch()).put(prefixed(prefix, key), value.length === 0 ? EMPTY : toBuffer(value))
  }

  del(prefix: Buffer, key: Uint8Array): void {
    (this.chained ??= this.db.batch()).del(prefixed(prefix, key))
  }

  async write(): Promise<void> {
    const chained = this.chained
    this.chained = null
    if (chained) await chained.write()
  }

  /** Drops what was added, writing nothing. */
  discard(): void {
    const chained = this.chained
    this.chained = null
    chained?.close().catch(() => undefined)
  }
}

/** What an index writes through: its key space in whichever batch is being built. */
class SpaceWriter implements IndexWriter {
  batch: WriteBatch | null = null
  constructor(private readonly prefix: Buffer) {}

  put(key: Uint8Array, value: Uint8Array): void {
    this.batch!.put(this.prefix, key, value)
  }

  del(key: Uint8Array): void {
    this.batch!.del(this.prefix, key)
  }
}

/** What one or more appends will write together, atomically. */
interface PendingWrite {
  batch: WriteBatch
  indexed: IndexedMessage[]
  /** The last offset taken so far. */
  offset: number
  /** Each feed's state after it. */
  states: Map<FeedId, FeedStatus>
  /** Feed numbers this write records, for feeds whose number is not on disk yet. */
  feedNumbers: Map<FeedId, number>
}

/** A prepared write in the queue to LevelDB; `done` settles once it is written (or refused). */
interface QueuedWrite {
  write: PendingWrite
  done: Promise<void>
}

/** Results of appends whose write is queued; they hold once `committed` resolves. */
export interface StagedAppend {
  results: AppendResult[]
  committed: Promise<void>
}

/** Recorded per index; a mismatch with the running code means the index must be rebuilt. */
interface IndexMeta {
  version: number
  /** Whose private messages were decrypted into it. */
  identity: FeedId | null
}

const READ_CHUNK = 256
const REBUILD_CHUNK = 2000
/**
 * Writes prepared ahead, the one being written included: the next write is checked and indexed
 * while the last is being written, and no further (each one waiting holds its batch in memory).
 */
const MAX_QUEUED_WRITES = 2
const EMPTY = Buffer.alloc(0)
const LOG_FORMAT_KEY = Buffer.from('log-format')
/** The last offset ever taken, kept once a reclaim may have deleted the log's last entries. */
const OFFSET_FLOOR_KEY = Buffer.from('offset-floor')
const RECLAIMED_PREFIX = 'reclaimed:'
const PAST_EVERY_KEY = Buffer.from([0xfe])
const PAST_EVERY_KEY_END = Buffer.from([0xff])

/** Opens (and with `create`, creates) a store; a missing, locked or corrupt database is a StoreError. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const db = await openLevel(options.path, options.create ?? false)
  const store = new LevelStore(options, db)
  try {
    await store.load(options.onIndexProgress)
  } catch (err) {
    await db.close()
    throw diskFullError(err, options.path) ?? err
  }
  return store
}

/**
 * A LevelDB failure caused by a full disk, as a StoreError that says so. LevelDB's errors carry
 * no errno, only the system's words in their message. After one, LevelDB refuses every write
 * until the database is opened again (a failed compaction sticks), even once space is freed;
 * what it had written stays intact.
 */
function diskFullError(err: unknown, path: string): StoreError | null {
  const cause = (err as { cause?: { message?: unknown } } | null)?.cause?.message
  const text = `${err instanceof Error ? err.message : String(err)} ${typeof cause === 'string' ? cause : ''}`
  if (!/No space left on device|ENOSPC/i.test(text)) return null
  return new StoreError('ESTORE_DISK_FULL', `the disk holding the store at ${path} is full (no space left on device): free some space, then open the store again; what was stored before is kept`)
}

/** One feed's part of `appendFeeds`. */
export interface FeedBatch {
  feed: FeedId
  values: readonly unknown[]
  /**
   * What a full `verifyMessage(values[i], hmacKey)` under this store's HMAC key returned as the
   * id of each value, elsewhere (on a worker thread); undefined for a value it refused or did not
   * see. The id is derived again here from the value itself (one encode and hash, a tenth of a
   * verify), so a verdict only counts for the exact message it was given for; without a matching
   * id the value is verified in full, and refused with verifyMessage's own error. Chain,
   * duplicate and fork checks run as in `append` either way.
   */
  ids?: readonly (MessageId | undefined)[]
}

/**
 * `append` of several feeds in one atomic write, for import and replication. Feeds received
 * interleaved (the usual case) otherwise cost one LevelDB write per message or two, and the
 * write's fixed cost then dominates. Each result is what `append` would have said of its batch.
 * Batches may carry ids verified elsewhere (see FeedBatch). Any other Store gets them appended
 * one by one, fully verified.
 */
export async function appendFeeds(store: Store, batches: readonly FeedBatch[]): Promise<AppendResult[]> {
  if (!(store instanceof LevelStore)) {
    const results: AppendResult[] = []
    for (const { feed, values } of batches) results.push(await store.append(feed, values))
    return results
  }
  const { results, committed } = await store.stageFeeds(batches)
  await committed
  return results
}

/**
 * `appendFeeds` in two steps. It resolves once the batches are
 * checked and indexed and their write is queued, with what the store will say of each; those
 * results hold once `committed` resolves (if it rejects, none of it was written). Meanwhile the
 * next appends can be prepared: the store checks and indexes one write while the one before
 * it is being written, each building on the feed states the writes before it leave.
 */
export async function stageFeeds(store: Store, batches: readonly FeedBatch[]): Promise<StagedAppend> {
  if (store instanceof LevelStore) return store.stageFeeds(batches)
  return { results: await appendFeeds(store, batches), committed: Promise.resolve() }
}

/** What `reclaimFeeds` removed of one feed. */
export interface ReclaimResult {
  feed: FeedId
  /** Messages of the feed deleted from the log (0 when it held none). */
  messages: number
}

/**
 * Deletes every message of `feeds` (log, by-feed and by-id entries, decryption keys, states) in
 * one atomic write that also marks every index stale and records the feeds as reclaimed, then
 * rebuilds the indexes from what is left of the log, once for all the feeds. Indexes are rebuilt
 * rather than pruned because some keys are shared between feeds (votes' liked-at-some-point
 * marker): only a rebuild is sure to drop exactly what the feeds' messages derived. A crash
 * mid-rebuild leaves the remaining indexes stale, and the next open rebuilds them. While
 * reclaimed, a feed's messages are refused (ESTORE_RECLAIMED), so replication cannot bring them
 * back; see `releaseReclaimedFeed`. Offsets are never reused: the log keeps its last offset.
 */
export async function reclaimFeeds(store: Store, feeds: readonly FeedId[], onProgress?: (progress: IndexProgress) => void): Promise<ReclaimResult[]> {
  return await levelStore(store).reclaim(feeds, onProgress)
}

/** Feeds reclaimed and not released, whose messages the store refuses. */
export function reclaimedFeeds(store: Store): FeedId[] {
  return [...levelStore(store).reclaimed]
}

/** Lets the store accept `feed`'s messages again (after an unblock). Resolves false if it was not reclaimed. */
export function releaseReclaimedFeed(store: Store, feed: FeedId): Promise<boolean> {
  return levelStore(store).release(feed)
}

/** How many messages the store holds of each feed, most first. */
export function feedMessageCounts(store: Store): Promise<Array<{ feed: FeedId; messages: number }>> {
  return levelStore(store).messageCounts()
}

function levelStore(store: Store): LevelStore {
  if (!(store instanceof LevelStore)) throw new TypeError('only a store from openStore can reclaim feeds')
  return store
}

/** The HMAC key a store validates with, for verifying on its behalf (with a ValidationPool). */
export function storeHmacKey(store: Store): HmacKey {
  return store instanceof LevelStore ? store.hmacKey : null
}

async function openLevel(path: string, create: boolean): Promise<Db> {
  let entries: string[] | null
  try {
    entries = await fs.readdir(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    entries = null
  }
  const isEmpty = entries === null || entries.length === 0
  if (isEmpty && !create) throw new StoreError('ESTORE_MISSING', `no store at ${path}`)
  // LevelDB would happily start a fresh, empty database inside a damaged directory; a store
  // that loses its CURRENT file must be reported, never silently replaced.
  if (!isEmpty && !entries!.includes('CURRENT')) {
    throw new StoreError('ESTORE_CORRUPT', `${path} is not a readable store (it has files but no LevelDB CURRENT file)`)
  }
  // 64 KB blocks (LevelDB's default is 4 KB) give snappy more neighbouring messages to find
  // repeats in, and a full key every 64 entries (not 16) costs the indexes' short keys less:
  // on the 100k fixture, compacted, 4 KB/16 → 16 KB/16 saves ~10%, → 64 KB/64 another 5.5%.
  // Snappy works in 64 KB pieces, so larger blocks gain nothing (128 KB measured larger).
  const db: Db = new Level<Buffer, Buffer>(path, {
    keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: isEmpty, blockSize: 64 * 1024, blockRestartInterval: 64,
  })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new StoreError('ESTORE_LOCKED', `the store at ${path} is in use by another process`)
    if (cause?.code === 'LEVEL_CORRUPTION') throw new StoreError('ESTORE_CORRUPT', `the store at ${path} is corrupt: ${cause.message}`)
    throw diskFullError(err, path) ?? err
  }
  return db
}

class LevelStore implements Store {
  readonly path: string
  private readonly db: Db
  readonly hmacKey: HmacKey
  private readonly identity: Identity | null
  private readonly unboxer: Unboxer | null
  private readonly indexes: readonly IndexDefinition[]
  private readonly log: Sub
  private readonly feeds: Sub
  private readonly byKey: Sub
  private readonly states: Sub
  private readonly meta: Sub
  /** offset → box1 key of messages we could decrypt, so reads need no key exchange. */
  private readonly unboxKeys: Sub
  /** number → author key: the log names a message's author by its feed's number. */
  private readonly authors: Sub
  private readonly indexSpaces = new Map<string, Sub>()
  /** Root-key prefixes (`!name!`) of the key spaces above, for writing through the root. */
  private readonly prefix: Record<'log' | 'feed' | 'key' | 'state' | 'meta' | 'unbox' | 'author', Buffer>
  /** One writer per index, in `indexes` order, pointed at each batch as it is built. */
  private readonly writers: SpaceWriter[]
  private readonly listeners = new Set<(message: IndexedMessage) => void>()
  /** Feed states as written to disk (null: we hold none of the feed). */
  private readonly statusCache = new Map<FeedId, FeedStatus | null>()
  private readonly statusReads = new Map<FeedId, Promise<FeedStatus | null>>()
  /**
   * Appends are prepared (checked, indexed, put in a batch) one at a time, in call order, and
   * written one at a time in the same order; a write can be prepared while the one before it
   * is being written. It then builds on what the writes queued before it will leave:
   * `queued` holds those writes, `staged` the feed states they leave, and the offsets they take
   * go up to the last one's. `statusCache` and `lastOffset` change only once a write is on
   * disk. If a write fails, every write prepared on top of it is refused unwritten, the staged
   * states are dropped, and `epoch` moves on so that an append being prepared meanwhile (on
   * states that will never be written) is refused too.
   */
  private preparing: Promise<unknown> = Promise.resolve()
  private committing: Promise<unknown> = Promise.resolve()
  private queued: QueuedWrite[] = []
  private readonly staged = new Map<FeedId, { status: FeedStatus; write: PendingWrite }>()
  private epoch = 0
  private failure: unknown = null
  /**
   * Feed numbers, each given for good when a write with the feed's first message is prepared,
   * never given twice. Those on disk are in `numberOnDisk`; the others went to writes still
   * queued (or refused), and a write records (again) every number it uses that is not on disk
   * yet, so a number is on disk by the time any log entry using it is. A number given to a
   * write that failed is recorded by the next write of its feed, or by none (a gap, harmless).
   */
  private readonly feedNumbers = new Map<FeedId, number>()
  private readonly feedByNumber: FeedId[] = []
  private readonly numberOnDisk = new Set<FeedId>()
  private nextFeedNumber = 0
  private closed = false
  lastOffset = 0
  /** Feeds whose messages were reclaimed: appends of them are refused. */
  readonly reclaimed = new Set<FeedId>()

  constructor(options: OpenStoreOptions, db: Db) {
    this.path = options.path
    this.db = db
    this.hmacKey = options.hmacKey ?? null
    this.identity = options.identity ?? null
    this.unboxer = this.identity ? createUnboxer(this.identity) : null
    this.indexes = options.indexes ?? defaultIndexes()
    this.log = binarySublevel(db, 'log')
    this.feeds = binarySublevel(db, 'feed')
    this.byKey = binarySublevel(db, 'key')
    this.states = binarySublevel(db, 'state')
    this.meta = binarySublevel(db, 'meta')
    this.unboxKeys = binarySublevel(db, 'unbox')
    this.authors = binarySublevel(db, 'author')
    this.prefix = {
      log: rootPrefix(this.log), feed: rootPrefix(this.feeds), key: rootPrefix(this.byKey),
      state: rootPrefix(this.states), meta: rootPrefix(this.meta), unbox: rootPrefix(this.unboxKeys),
      author: rootPrefix(this.authors),
    }
    const names = new Set<string>()
    this.writers = []
    for (const index of this.indexes) {
      if (names.has(index.name)) throw new Error(`two indexes are named ${index.name}`)
      names.add(index.name)
      const space = binarySublevel(db, `i:${index.name}`)
      this.indexSpaces.set(index.name, space)
      this.writers.push(new SpaceWriter(rootPrefix(space)))
    }
  }

  async load(onProgress?: (progress: IndexProgress) => void): Promise<void> {
    for await (const key of this.log.keys({ reverse: true, limit: 1 })) this.lastOffset = readOffset(key)
    const floor = await this.meta.get(OFFSET_FLOOR_KEY)
    if (floor !== undefined) this.lastOffset = Math.max(this.lastOffset, Number(floor.toString('utf8')))
    await this.checkLogFormat()
    const reclaimedRange = { gte: Buffer.from(RECLAIMED_PREFIX), lt: Buffer.from(RECLAIMED_PREFIX.slice(0, -1) + ';') }
    for await (const key of this.meta.keys(reclaimedRange)) this.reclaimed.add(key.toString('utf8').slice(RECLAIMED_PREFIX.length) as FeedId)
    for await (const [key, value] of this.authors.iterator()) {
      const number = key.readUInt32BE(0)
      const feed = toFeedId(value)
      this.feedNumbers.set(feed, number)
      this.numberOnDisk.add(feed)
      this.feedByNumber[number] = feed
      this.nextFeedNumber = Math.max(this.nextFeedNumber, number + 1)
    }
    const decryptedFor = await this.readMeta('unbox')
    const stale: Array<{ index: IndexDefinition; reason: IndexProgress['reason'] }> = []
    for (const index of this.indexes) {
      const meta = await this.readMeta(`index:${index.name}`)
      if (meta === null) stale.push({ index, reason: 'new' })
      else if (meta.version !== index.version || meta.identity !== (this.identity?.id ?? null)) stale.push({ index, reason: 'version' })
    }
    const unboxStale = decryptedFor === null || decryptedFor.identity !== (this.identity?.id ?? null)
    if (unboxStale) await this.rebuild(null, 'version', onProgress)
    for (const { index, reason } of stale) await this.rebuild(index, reason, onProgress)
  }

  /**
   * Refuses a log this code cannot read. Stores in format 1 did not record theirs;
   * an empty one is simply taken over. There is no migration: such stores were only ever made
   * by development builds, and are re-made by importing their source again.
   */
  private async checkLogFormat(): Promise<void> {
    const raw = await this.meta.get(LOG_FORMAT_KEY)
    const format = raw === undefined ? (this.lastOffset > 0 ? 1 : null) : Number(raw.toString('utf8'))
    if (format === null) {
      await this.meta.put(LOG_FORMAT_KEY, Buffer.from(String(LOG_FORMAT)))
      return
    }
    if (format !== LOG_FORMAT) {
      throw new StoreError('ESTORE_FORMAT', `the store at ${this.path} keeps its log in format ${format}, and this version of Hearsay reads format ${LOG_FORMAT} only; move it aside and import its messages again`)
    }
  }

  async feedStatus(feed: FeedId): Promise<FeedStatus | null> {
    this.assertOpen()
    const cached = this.statusCache.get(feed)
    if (cached !== undefined) return cached
    // Callers asking at once share one read, and are answered in the order they asked.
    const pending = this.statusReads.get(feed)
    if (pending) return pending
    const read = this.readFeedStatus(feed).finally(() => this.statusReads.delete(feed))
    this.statusReads.set(feed, read)
    return read
  }

  private async readFeedStatus(feed: FeedId): Promise<FeedStatus | null> {
    const raw = await this.states.get(feedKey(feed))
    // A write of this feed may have landed while we read; its state is the newer one.
    const landed = this.statusCache.get(feed)
    if (landed !== undefined) return landed
    const status = raw === undefined ? null : (JSON.parse(raw.toString('utf8')) as FeedStatus)
    this.statusCache.set(feed, status)
    return status
  }

  async append(feed: FeedId, values: readonly unknown[]): Promise<AppendResult> {
    const { results, committed } = await this.serialise(() => this.stage([{ feed, values }]))
    await committed
    return results[0]!
  }

  /** See the exported `stageFeeds`. */
  stageFeeds(batches: readonly FeedBatch[]): Promise<StagedAppend> {
    return this.serialise(() => this.stage(batches))
  }

  async publish(identity: Identity, content: Content): Promise<StoredMessage> {
    const { results, committed } = await this.serialise(async () => {
      await this.room()
      const epoch = this.epoch
      const status = await this.preparedStatus(identity.id)
      if (status?.forked) throw new StoreError('ESTORE_FORKED', `your feed ${identity.id} is forked at sequence ${status.forked.sequence}; publishing would deepen the fork`)
      // Author timestamps of one feed should not run backwards, even if the clock does.
      const timestamp = Math.max(Date.now(), status ? status.timestamp + 1 : 0)
      const message = createMessage({ identity, previous: status, content, timestamp, hmacKey: this.hmacKey })
      return this.stageNow([{ feed: identity.id, values: [message.value] }], epoch)
    })
    await committed
    const result = results[0]!
    if (result.rejected) throw result.rejected.error
    return result.accepted[0]!
  }

  async get(id: MessageId, options: ReadOptions = {}): Promise<IndexedMessage | null> {
    this.assertOpen()
    const prefix = messageIdPrefix(id)
    for await (const key of this.byKey.keys({ gt: prefix, lt: Buffer.concat([prefix, Buffer.alloc(6, 0xff)]) })) {
      const [message] = await this.getByOffsets([readOffset(key, prefix.length)], options)
      if (message?.key === id) return message
    }
    return null
  }

  async *readFeed(feed: FeedId, options: ReadFeedOptions & ReadOptions = {}): AsyncIterable<IndexedMessage> {
    this.assertOpen()
    const range = {
      gt: feedSequenceKey(feed, Math.max(options.gt ?? 0, 0)),
      lt: feedSequenceKey(feed, Math.min(options.lt ?? 0xffffffff, 0xffffffff)),
      reverse: options.reverse ?? false,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      // Iterators skip LevelDB's block cache unless told: each read of a feed would then
      // decompress its 64 KB index block again, into memory of whichever thread-pool thread ran
      // it. A pub serving thousands of feed streams churned those blocks through the threads'
      // malloc arenas, which keep what they grew to: 1.4 GB under the load suite, 0.8 GB cached.
      fillCache: true,
    }
    let offsets: number[] = []
    for await (const value of this.feeds.values(range)) {
      offsets.push(readOffset(value))
      if (offsets.length === READ_CHUNK) {
        yield* await this.getByOffsets(offsets, options)
        offsets = []
      }
    }
    if (offsets.length > 0) yield* await this.getByOffsets(offsets, options)
  }

  async *readLog(options: ReadLogOptions & ReadOptions = {}): AsyncIterable<IndexedMessage> {
    this.assertOpen()
    const range = {
      gt: offsetKey(options.gt ?? 0),
      reverse: options.reverse ?? false,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    }
    for await (const [key, value] of this.log.iterator(range)) {
      const message = decodeLogEntry(readOffset(key), value, this.authorOf)
      yield options.decrypt ? await this.withStoredDecryption(message) : message
    }
  }

  async getByOffsets(offsets: readonly number[], options: ReadOptions = {}): Promise<IndexedMessage[]> {
    this.assertOpen()
    const keys = offsets.map(offsetKey)
    const values = await this.log.getMany(keys)
    const unboxKeys = options.decrypt ? await this.unboxKeys.getMany(keys) : []
    return values.map((value, i) => {
      if (value === undefined) throw new StoreError('ESTORE_CORRUPT', `the log has no entry ${offsets[i]} though an index points to it`)
      const message = decodeLogEntry(offsets[i]!, value, this.authorOf)
      const key = unboxKeys[i]
      return key ? decryptWithKey(message, key) : message
    })
  }

  indexReader(name: string): IndexReader {
    const space = this.indexSpaces.get(name)
    if (!space) throw new Error(`no index named ${name}`)
    return {
      get: (key) => space.get(Buffer.from(key)),
      getMany: (keys) => space.getMany(keys.map((key) => Buffer.from(key))),
      entries: (range) => space.iterator(queryRange(range)),
      keys: (range) => space.keys(queryRange(range)),
    }
  }

  subscribe(listener: (message: IndexedMessage) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  localState<T>(name: string): LocalState<T> {
    this.assertOpen()
    return openLocalState<T>(this.db, name, () => this.assertOpen())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.listeners.clear()
    await this.preparing
    await this.committing
    // LevelDB keeps its latest writes (up to 4 MB) only in its write-ahead log, uncompressed,
    // until the next open turns them into a table. Compacting any range writes them out first;
    // a range past every key (all keys here start with a sublevel's `!`) compacts nothing else.
    // A store at rest is then its real size (on the 100k fixture, 3 MB less right after an
    // import). If that fails (a full disk), the writes are still safe in the log, and the next
    // open turns them into a table anyway: closing goes on regardless.
    await (this.db as unknown as Compactable).compactRange(PAST_EVERY_KEY, PAST_EVERY_KEY_END).catch(() => undefined)
    await this.db.close()
  }

  /** Runs `work` once the preparing of earlier appends is over (whether or not it succeeded). */
  private serialise<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen()
    const run = this.preparing.then(work, work)
    this.preparing = run.catch(() => undefined)
    return run
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('ESTORE_CLOSED', 'the store is closed')
  }

  /** Waits until fewer than MAX_QUEUED_WRITES writes are queued. */
  private async room(): Promise<void> {
    while (this.queued.length >= MAX_QUEUED_WRITES) {
      const head = this.queued[0]!
      await head.done.catch(() => undefined)
      // Settled writes leave the queue as they settle; this only guards against waiting forever.
      if (this.queued[0] === head) this.queued.shift()
    }
  }

  private async stage(batches: readonly FeedBatch[]): Promise<StagedAppend> {
    await this.room()
    return this.stageNow(batches, this.epoch)
  }

  /** Prepares `batches` on the states the queued writes leave, and queues their write(s). */
  private async stageNow(batches: readonly FeedBatch[], epoch: number): Promise<StagedAppend> {
    if (batches.length > 1) await this.readStates(batches)
    const results: AppendResult[] = []
    const commits: Array<Promise<void>> = []
    let write = this.newWrite()
    try {
      for (const { feed, values, ids } of batches) {
        // A feed's second batch goes in a write of its own, after the first one's.
        if (write.states.has(feed)) {
          commits.push(this.enqueue(write, epoch))
          write = this.newWrite()
        }
        results.push(await this.prepareAppend(feed, values, ids, write, epoch))
      }
      commits.push(this.enqueue(write, epoch))
    } catch (err) {
      write.batch.discard()
      throw err
    }
    const committed = commits.length === 1 ? commits[0]! : Promise.all(commits).then(() => undefined)
    committed.catch(() => undefined)
    return { results, committed }
  }

  private newWrite(): PendingWrite {
    return { batch: new WriteBatch(this.db), indexed: [], offset: this.queued.at(-1)?.write.offset ?? this.lastOffset, states: new Map(), feedNumbers: new Map() }
  }

  /** Queues a prepared write behind the others; the promise settles once it is written. */
  private enqueue(write: PendingWrite, epoch: number): Promise<void> {
    if (epoch !== this.epoch) throw this.failure
    if (write.batch.empty) {
      // Nothing to write, but its results hold only once what they built on is written.
      const done = this.committing.then(() => this.checkEpoch(epoch))
      this.committing = done.catch(() => undefined)
      return done
    }
    for (const [feed, status] of write.states) this.staged.set(feed, { status, write })
    const done = this.committing.then(() => this.commit(write, epoch))
    this.committing = done.catch(() => undefined)
    this.queued.push({ write, done })
    return done
  }

  private checkEpoch(epoch: number): void {
    if (epoch !== this.epoch) throw this.failure
  }

  private async commit(write: PendingWrite, epoch: number): Promise<void> {
    if (epoch !== this.epoch) {
      // Prepared on a write that failed.
      write.batch.discard()
      throw this.failure
    }
    try {
      await write.batch.write()
    } catch (err) {
      const failure = diskFullError(err, this.path) ?? err
      this.epoch++
      this.failure = failure
      this.queued = []
      this.staged.clear()
      throw failure
    }
    if (this.queued[0]?.write === write) this.queued.shift()
    this.lastOffset = write.offset
    for (const feed of write.feedNumbers.keys()) this.numberOnDisk.add(feed)
    for (const [feed, status] of write.states) {
      this.statusCache.set(feed, status)
      if (this.staged.get(feed)?.write === write) this.staged.delete(feed)
    }
    for (const message of write.indexed) for (const listener of this.listeners) listener(message)
  }

  /** Reads the states of the feeds in `batches` that are neither cached nor staged, in one go. */
  private async readStates(batches: readonly FeedBatch[]): Promise<void> {
    const feeds: FeedId[] = []
    const keys: Buffer[] = []
    for (const { feed } of batches) {
      if (this.statusCache.has(feed) || this.staged.has(feed)) continue
      let key
      try {
        key = feedKey(feed)
      } catch {
        continue // not a feed id: left for prepareAppend to refuse as before
      }
      feeds.push(feed)
      keys.push(key)
    }
    if (feeds.length === 0) return
    this.assertOpen()
    const raws = await this.states.getMany(keys)
    for (let i = 0; i < feeds.length; i++) {
      // A write of the feed may have landed while we read; its state is the newer one.
      if (this.statusCache.has(feeds[i]!)) continue
      const raw = raws[i]
      this.statusCache.set(feeds[i]!, raw === undefined ? null : (JSON.parse(raw.toString('utf8')) as FeedStatus))
    }
  }

  /** A feed's state as the writes queued so far leave it. */
  private preparedStatus(feed: FeedId): Promise<FeedStatus | null> | FeedStatus | null {
    this.assertOpen()
    const staged = this.staged.get(feed)
    if (staged) return staged.status
    const cached = this.statusCache.get(feed)
    return cached !== undefined ? cached : this.feedStatus(feed)
  }

  /** Validates one feed's batch against its state and adds what passes to `write`. */
  private async prepareAppend(feed: FeedId, values: readonly unknown[], verifiedIds: readonly (MessageId | undefined)[] | undefined, write: PendingWrite, epoch: number): Promise<AppendResult> {
    const result: AppendResult = { accepted: [], duplicates: 0 }
    if (this.reclaimed.has(feed)) {
      result.rejected = { index: 0, error: new StoreError('ESTORE_RECLAIMED', `${feed} was reclaimed; its messages are not stored until it is released`) }
      return result
    }
    let status = await this.preparedStatus(feed)
    if (status?.forked) {
      result.rejected = { index: 0, error: new StoreError('ESTORE_FORKED', `${feed} is forked at sequence ${status.forked.sequence}; it accepts no more messages`) }
      return result
    }
    const { batch, indexed } = write
    const { writers, indexes } = this
    for (let i = 0; i < writers.length; i++) writers[i]!.batch = batch
    let author: Buffer | null = null
    let feedNumber: number | undefined
    let offset = write.offset
    const receivedAt = Date.now()
    for (let index = 0; index < values.length; index++) {
      const value = values[index]
      const claimed = (value as { author?: unknown } | null)?.author
      if (claimed !== feed) {
        result.rejected = { index, error: new MessageError('EMSG_AUTHOR', `a message by ${String(claimed)} cannot be appended to ${feed}`) }
        break
      }
      const sequence = (value as { sequence?: unknown }).sequence
      if (status && typeof sequence === 'number' && sequence <= status.sequence) {
        const outcome = await this.compareWithStored(feed, value, sequence, result.accepted, verifiedIds?.[index], epoch)
        if (outcome === 'duplicate') {
          result.duplicates++
          continue
        }
        if (outcome instanceof Error) result.rejected = { index, error: outcome }
        else result.forked = outcome
        break
      }
      let valid
      try {
        valid = this.verify(value, verifiedIds?.[index])
        checkSuccessor(status, valid.value)
      } catch (err) {
        // A correctly signed successor that names a different previous means the author signed
        // two different messages at our latest sequence: a fork. Only checkSuccessor's EMSG_PREVIOUS
        // says that; verify's (a malformed previous) is a plain rejection.
        if (valid && status && err instanceof MessageError && err.code === 'EMSG_PREVIOUS' && sequence === status.sequence + 1) {
          const signed = verifyMessage(value, this.hmacKey).value
          result.forked = { sequence: status.sequence, kept: status.id, conflicting: signed.previous!, detectedAt: receivedAt }
          break
        }
        result.rejected = { index, error: err as Error }
        break
      }
      offset++
      author ??= feedKey(feed)
      feedNumber ??= this.feedNumberIn(write, feed, author)
      const stored: StoredMessage = { key: valid.key, value: valid.value, timestamp: receivedAt, offset }
      const logKey = offsetKeyIn(this.prefix.log, offset)
      batch.putRaw(logKey, encodeLogEntry(stored, feedNumber))
      batch.putRaw(feedSequenceKeyIn(this.prefix.feed, author, valid.value.sequence), logKey.subarray(this.prefix.log.length))
      batch.putRaw(messageKeyIn(this.prefix.key, valid.key, offset), EMPTY)
      const message = this.decryptForIndexing(stored, batch)
      for (let i = 0; i < indexes.length; i++) indexes[i]!.index(message, writers[i]!)
      indexed.push(message)
      result.accepted.push(stored)
      status = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp }
    }
    if (result.forked) status = { ...(status as FeedStatus), forked: result.forked }
    if (result.accepted.length === 0 && !result.forked) return result
    batch.put(this.prefix.state, author ?? feedKey(feed), Buffer.from(JSON.stringify(status)))
    write.offset = offset
    write.states.set(feed, status as FeedStatus)
    return result
  }

  /** The feed's number, given now if it has none, recorded in `write` unless it is on disk. */
  private feedNumberIn(write: PendingWrite, feed: FeedId, author: Buffer): number {
    let number = this.feedNumbers.get(feed)
    if (number === undefined) {
      number = this.nextFeedNumber++
      this.feedNumbers.set(feed, number)
      this.feedByNumber[number] = feed
    }
    if (!this.numberOnDisk.has(feed) && !write.feedNumbers.has(feed)) {
      write.feedNumbers.set(feed, number)
      const key = Buffer.allocUnsafe(4)
      key.writeUInt32BE(number, 0)
      write.batch.put(this.prefix.author, key, author)
    }
    return number
  }

  /** The author of a log entry, by number. */
  private readonly authorOf = (number: number): FeedId => {
    const feed = this.feedByNumber[number]
    if (feed === undefined) throw new StoreError('ESTORE_CORRUPT', `the log names feed number ${number}, which the store does not have`)
    return feed
  }

  /** Decrypts box1 content addressed to us, recording its key for later reads. */
  private decryptForIndexing(message: StoredMessage, batch: WriteBatch): IndexedMessage {
    const { content } = message.value
    if (typeof content !== 'string' || !this.unboxer) return message
    const key = this.unboxer.unboxKey(content)
    if (!key) return message
    const decrypted = decryptWithKey(message, key)
    if (decrypted.private) batch.put(this.prefix.unbox, offsetKey(message.offset), key)
    return decrypted
  }

  private async withStoredDecryption(message: StoredMessage): Promise<IndexedMessage> {
    if (typeof message.value.content !== 'string') return message
    const key = await this.unboxKeys.get(offsetKey(message.offset))
    return key ? decryptWithKey(message, key) : message
  }

  /**
   * Drops one index (or, with null, the decryption keys) and rebuilds it from the log. Its meta
   * is written last, so a crash mid-way leaves it marked stale and it is rebuilt again.
   */
  private async rebuild(index: IndexDefinition | null, reason: IndexProgress['reason'], onProgress?: (progress: IndexProgress) => void): Promise<void> {
    const name = index?.name ?? 'unbox'
    const space = index ? this.indexSpaces.get(index.name)! : this.unboxKeys
    const writer = index ? this.writers[this.indexes.indexOf(index)]! : null
    await space.clear()
    const total = this.lastOffset
    let done = 0
    let batch = new WriteBatch(this.db)
    const flush = async () => {
      await batch.write()
      batch = new WriteBatch(this.db)
      onProgress?.({ index: name, done, total, reason })
    }
    if (total > 0) {
      for await (const [key, value] of this.log.iterator({})) {
        const stored = decodeLogEntry(readOffset(key), value, this.authorOf)
        if (index) {
          const message = await this.withStoredDecryption(stored)
          writer!.batch = batch
          index.index(message, writer!)
        } else {
          this.decryptForIndexing(stored, batch)
        }
        done++
        if (done % REBUILD_CHUNK === 0) await flush()
      }
    }
    const meta: IndexMeta = { version: index?.version ?? 1, identity: this.identity?.id ?? null }
    batch.put(this.prefix.meta, Buffer.from(index ? `index:${index.name}` : 'unbox'), Buffer.from(JSON.stringify(meta)))
    // Offsets of reclaimed feeds are gaps, so fewer entries than the last offset may be read.
    done = total
    await flush()
  }

  /** See the exported `reclaimFeeds`. Runs between appends: none is prepared or queued meanwhile. */
  reclaim(feeds: readonly FeedId[], onProgress?: (progress: IndexProgress) => void): Promise<ReclaimResult[]> {
    const authors = feeds.map((feed) => feedKey(feed))
    return this.serialise(async () => {
      await this.committing
      this.assertOpen()
      const batch = new WriteBatch(this.db)
      const results: ReclaimResult[] = []
      for (const [i, feed] of feeds.entries()) {
        const author = authors[i]!
        let messages = 0
        const range = { gte: feedSequenceKeyIn(EMPTY, author, 0), lte: feedSequenceKeyIn(EMPTY, author, 0xffffffff) }
        for await (const [feedSequence, logKey] of this.feeds.iterator(range)) {
          const offset = readOffset(logKey)
          const entry = await this.log.get(logKey)
          if (entry === undefined) throw new StoreError('ESTORE_CORRUPT', `${feed}'s entry ${offset} is missing from the log`)
          const { key } = decodeLogEntry(offset, entry, this.authorOf)
          batch.del(this.prefix.log, logKey)
          batch.del(this.prefix.feed, feedSequence)
          batch.del(this.prefix.key, messageKeyIn(EMPTY, key, offset))
          batch.del(this.prefix.unbox, logKey)
          messages++
        }
        batch.del(this.prefix.state, author)
        batch.put(this.prefix.meta, Buffer.from(RECLAIMED_PREFIX + feed), Buffer.from(JSON.stringify({ at: Date.now(), messages })))
        results.push({ feed, messages })
      }
      const deleted = results.some(({ messages }) => messages > 0)
      if (deleted) {
        batch.put(this.prefix.meta, OFFSET_FLOOR_KEY, Buffer.from(String(this.lastOffset)))
        for (const index of this.indexes) batch.del(this.prefix.meta, Buffer.from(`index:${index.name}`))
      }
      await batch.write()
      for (const feed of feeds) {
        this.statusCache.set(feed, null)
        this.reclaimed.add(feed)
      }
      if (deleted) for (const index of this.indexes) await this.rebuild(index, 'new', onProgress)
      return results
    })
  }

  /** See the exported `releaseReclaimedFeed`. */
  release(feed: FeedId): Promise<boolean> {
    return this.serialise(async () => {
      if (!this.reclaimed.has(feed)) return false
      await this.meta.del(Buffer.from(RECLAIMED_PREFIX + feed))
      this.reclaimed.delete(feed)
      return true
    })
  }

  async messageCounts(): Promise<Array<{ feed: FeedId; messages: number }>> {
    this.assertOpen()
    await this.committing
    const counts: Array<{ feed: FeedId; messages: number }> = []
    for await (const [key, value] of this.states.iterator()) {
      const status = JSON.parse(value.toString('utf8')) as FeedStatus
      counts.push({ feed: toFeedId(key), messages: status.sequence })
    }
    return counts.sort((a, b) => b.messages - a.messages)
  }

  private async readMeta(name: string): Promise<IndexMeta | null> {
    const raw = await this.meta.get(Buffer.from(name))
    return raw === undefined ? null : (JSON.parse(raw.toString('utf8')) as IndexMeta)
  }

  /** Shape, size and signature of one value; the signature only when no matching verified id is at hand. */
  private verify(value: unknown, verifiedId: MessageId | undefined): ValidMessage {
    if (verifiedId !== undefined && value !== null && typeof value === 'object' && messageIdOf(value) === verifiedId) {
      return { key: verifiedId, value: value as MessageValue }
    }
    return verifyMessage(value, this.hmacKey)
  }

  /** A message at a sequence we already hold: the same one again, a fork, or simply invalid. */
  private async compareWithStored(feed: FeedId, value: unknown, sequence: number, pending: StoredMessage[], verifiedId: MessageId | undefined, epoch: number): Promise<'duplicate' | ForkRecord | Error> {
    let incoming
    try {
      incoming = this.verify(value, verifiedId)
    } catch (err) {
      return err as Error
    }
    const inBatch = pending.find((m) => m.value.sequence === sequence)
    if (!inBatch && this.staged.has(feed)) {
      // The message we hold may be in a queued write: read it once that is on disk.
      await this.committing
      this.checkEpoch(epoch)
    }
    const keptKey = inBatch?.key ?? (await this.keyAt(feed, sequence))
    if (keptKey === incoming.key) return 'duplicate'
    if (keptKey === null) return new StoreError('ESTORE_CORRUPT', `${feed} has no message ${sequence} though its state says it does`)
    return { sequence, kept: keptKey, conflicting: incoming.key, detectedAt: Date.now() }
  }

  private async keyAt(feed: FeedId, sequence: number): Promise<MessageId | null> {
    const offset = await this.feeds.get(feedSequenceKey(feed, sequence))
    if (offset === undefined) return null
    const [message] = await this.getByOffsets([readOffset(offset)])
    return message?.key ?? null
  }
}

/** Private content decrypted with a stored box1 key; only JSON objects with a type count. */
function decryptWithKey(message: StoredMessage, key: Uint8Array): IndexedMessage {
  const content = unboxWithKey(message.value.content as string, Buffer.from(key))
  if (content === null || typeof content !== 'object' || Array.isArray(content) || typeof (content as { type?: unknown }).type !== 'string') return message
  return { ...message, value: { ...message.value, content: content as Content }, private: true }
}

/** The prefix a sublevel gives its keys in the root database. */
function rootPrefix(space: Sub): Buffer {
  return Buffer.from(space.prefix, 'utf8')
}

/** prefix ‖ key in one allocation; short prefixes and keys are copied byte by byte, cheaper than a native call. */
function prefixed(prefix: Buffer, key: Uint8Array): Buffer {
  const p = prefix.length
  const n = key.length
  const out = Buffer.allocUnsafe(p + n)
  for (let i = 0; i < p; i++) out[i] = prefix[i]!
  if (n > 32) out.set(key, p)
  else for (let i = 0; i < n; i++) out[p + i] = key[i]!
  return out
}

/** prefix ‖ offsetKey(offset) */
function offsetKeyIn(prefix: Buffer, offset: number): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + 6)
  prefix.copy(key, 0)
  key.writeUIntBE(offset, prefix.length, 6)
  return key
}

/** prefix ‖ feedSequenceKey(author, sequence), from the author's key bytes. */
function feedSequenceKeyIn(prefix: Buffer, author: Buffer, sequence: number): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + 36)
  prefix.copy(key, 0)
  author.copy(key, prefix.length)
  key.writeUInt32BE(sequence, prefix.length + 32)
  return key
}

const BASE64 = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i

/**
 * prefix ‖ messageKey(id, offset). The id is one we derived (canonical base64), so its first
 * ID_PREFIX_BYTES bytes are its first base64 characters, decoded here; anything else goes the long way.
 */
function messageKeyIn(prefix: Buffer, id: MessageId, offset: number): Buffer {
  const p = prefix.length
  const key = Buffer.allocUnsafe(p + ID_PREFIX_BYTES + 6)
  prefix.copy(key, 0)
  let at = p
  for (let i = 1; i <= (ID_PREFIX_BYTES / 3) * 4; i += 4) {
    const a = sextet(id, i)
    const b = sextet(id, i + 1)
    const c = sextet(id, i + 2)
    const d = sextet(id, i + 3)
    if ((a | b | c | d) < 0) {
      messageIdPrefix(id).copy(key, p)
      at = p + ID_PREFIX_BYTES
      break
    }
    key[at++] = (a << 2) | (b >> 4)
    key[at++] = ((b & 0xf) << 4) | (c >> 2)
    key[at++] = ((c & 0x3) << 6) | d
  }
  key.writeUIntBE(offset, at, 6)
  return key
}

function sextet(text: string, at: number): number {
  const code = text.charCodeAt(at)
  return code < 128 ? BASE64[code]! : -1
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * An index query's range as LevelDB takes it. Queries read the same few blocks again and again
 * (a page, its next page, the page again as something arrives): they fill LevelDB's block cache,
 * as readFeed's reads do, where iterators would otherwise decompress them afresh each time.
 */
function queryRange(range: IndexRange) {
  const out: { gt?: Buffer; gte?: Buffer; lt?: Buffer; lte?: Buffer; reverse?: boolean; limit?: number; fillCache: boolean } = { fillCache: true }
  if (range.gt) out.gt = toBuffer(range.gt)
  if (range.gte) out.gte = toBuffer(range.gte)
  if (range.lt) out.lt = toBuffer(range.lt)
  if (range.lte) out.lte = toBuffer(range.lte)
  if (range.reverse !== undefined) out.reverse = range.reverse
  if (range.limit !== undefined) out.limit = range.limit
  return out
}
