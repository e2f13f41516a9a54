import { promises as fs } from 'node:fs'
import { Level } from 'level'
import type { FeedId, Identity, MessageId } from '@hearsay/keys'
import { createUnboxer, unboxWithKey, type Unboxer } from '@hearsay/box1'
import {
  MessageError, checkSuccessor, createMessage, messageIdOf, verifyMessage,
  type Content, type HmacKey, type MessageValue, type ValidMessage,
} from '@hearsay/message'
import { feedKey, feedSequenceKey, messageIdPrefix, messageKey, offsetKey, readOffset } from './keys.ts'
import { decodeLogEntry, encodeLogEntry } from './log-codec.ts'
import type { IndexDefinition, IndexedMessage, IndexProgress, IndexWriter } from './indexes/definition.ts'
import { defaultIndexes } from './indexes/all.ts'
import {
  StoreError,
  type AppendResult, type FeedStatus, type ForkRecord, type IndexRange, type IndexReader, type OpenStoreOptions,
  type ReadFeedOptions, type ReadLogOptions, type ReadOptions, type Store, type StoredMessage,
} from './types.ts'

type Db = Level<Buffer, Buffer>
function binarySublevel(db: Db, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
}
type Sub = ReturnType<typeof binarySublevel>
type BatchOp = { type: 'put'; sublevel: Sub; key: Buffer; value: Buffer } | { type: 'del'; sublevel: Sub; key: Buffer }

/** What one or more appends will write together, atomically. */
interface PendingWrite {
  ops: BatchOp[]
  indexed: IndexedMessage[]
  /** The last offset taken so far. */
  offset: number
  /** Each feed's state after it. */
  states: Map<FeedId, FeedStatus>
}

/** Recorded per index; a mismatch with the running code means the index must be rebuilt. */
interface IndexMeta {
  version: number
  /** Whose private messages were decrypted into it. */
  identity: FeedId | null
}

const READ_CHUNK = 256
const REBUILD_CHUNK = 2000
const EMPTY = Buffer.alloc(0)

/** Opens (and with `create`, creates) a store; a missing, locked or corrupt database is a StoreError. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const db = await openLevel(options.path, options.create ?? false)
  const store = new LevelStore(options, db)
  try {
    await store.load(options.onIndexProgress)
  } catch (err) {
    await db.close()
    throw err
  }
  return store
}

/** One feed's part of `appendFeeds`. */
export interface FeedBatch {
  feed: FeedId
  values: readonly unknown[]
  /**
   * What a full `verifyMessage(values[i], hmacKey)` under this store's HMAC key returned as the
   * id of each value, elsewhere (on a worker thread). The id is derived again here from the value
   * itself (one encode and hash, a tenth of a verify), so a verdict only counts for the exact
   * message it was given for; without a matching id the value is verified in full. Chain,
   * duplicate and fork checks run as in `append` either way.
   */
  ids?: readonly MessageId[]
}

/**
 * Package-internal, for import: `append` of several feeds in one atomic write. Feeds received
 * interleaved (the usual case) otherwise cost one LevelDB write per message or two, and the
 * write's fixed cost then dominates. Each result is what `append` would have said of its batch.
 * Not part of the public Store interface.
 */
export async function appendFeeds(store: Store, batches: readonly FeedBatch[]): Promise<AppendResult[]> {
  if (store instanceof LevelStore) return store.appendFeeds(batches)
  const results: AppendResult[] = []
  for (const { feed, values } of batches) results.push(await store.append(feed, values))
  return results
}

/** Package-internal: the HMAC key a store validates with, for verifying on its behalf. */
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
  // 16 KB blocks (LevelDB's default is 4 KB) give snappy more neighbouring messages to find
  // repeats in: the log shrinks ~10% and point reads are no slower (measured on the fixtures).
  const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: isEmpty, blockSize: 16 * 1024 })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new StoreError('ESTORE_LOCKED', `the store at ${path} is in use by another process`)
    if (cause?.code === 'LEVEL_CORRUPTION') throw new StoreError('ESTORE_CORRUPT', `the store at ${path} is corrupt: ${cause.message}`)
    throw err
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
  private readonly indexSpaces = new Map<string, Sub>()
  private readonly listeners = new Set<(message: IndexedMessage) => void>()
  private readonly statusCache = new Map<FeedId, FeedStatus | null>()
  /** Writes run one at a time so each sees the feed states the previous one left. */
  private writing: Promise<unknown> = Promise.resolve()
  private closed = false
  lastOffset = 0

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
    const names = new Set<string>()
    for (const index of this.indexes) {
      if (names.has(index.name)) throw new Error(`two indexes are named ${index.name}`)
      names.add(index.name)
      this.indexSpaces.set(index.name, binarySublevel(db, `i:${index.name}`))
    }
  }

  async load(onProgress?: (progress: IndexProgress) => void): Promise<void> {
    for await (const key of this.log.keys({ reverse: true, limit: 1 })) this.lastOffset = readOffset(key)
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

  async feedStatus(feed: FeedId): Promise<FeedStatus | null> {
    this.assertOpen()
    const cached = this.statusCache.get(feed)
    if (cached !== undefined) return cached
    const raw = await this.states.get(feedKey(feed))
    const status = raw === undefined ? null : (JSON.parse(raw.toString('utf8')) as FeedStatus)
    this.statusCache.set(feed, status)
    return status
  }

  append(feed: FeedId, values: readonly unknown[]): Promise<AppendResult> {
    return this.serialise(() => this.appendNow(feed, values))
  }

  /** See the exported `appendFeeds`. */
  appendFeeds(batches: readonly FeedBatch[]): Promise<AppendResult[]> {
    return this.serialise(() => this.appendFeedsNow(batches))
  }

  publish(identity: Identity, content: Content): Promise<StoredMessage> {
    return this.serialise(async () => {
      const status = await this.feedStatus(identity.id)
      if (status?.forked) throw new StoreError('ESTORE_FORKED', `your feed ${identity.id} is forked at sequence ${status.forked.sequence}; publishing would deepen the fork`)
      // Author timestamps of one feed should not run backwards, even if the clock does.
      const timestamp = Math.max(Date.now(), status ? status.timestamp + 1 : 0)
      const message = createMessage({ identity, previous: status, content, timestamp, hmacKey: this.hmacKey })
      const result = await this.appendNow(identity.id, [message.value])
      if (result.rejected) throw result.rejected.error
      return result.accepted[0]!
    })
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
      const message = decodeLogEntry(readOffset(key), value)
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
      const message = decodeLogEntry(offsets[i]!, value)
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
      entries: (range) => space.iterator(toBufferRange(range)),
      keys: (range) => space.keys(toBufferRange(range)),
    }
  }

  subscribe(listener: (message: IndexedMessage) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.listeners.clear()
    await this.writing.catch(() => undefined)
    await this.db.close()
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen()
    const run = this.writing.then(work, work)
    this.writing = run.catch(() => undefined)
    return run
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('ESTORE_CLOSED', 'the store is closed')
  }

  private async appendNow(feed: FeedId, values: readonly unknown[]): Promise<AppendResult> {
    return (await this.appendFeedsNow([{ feed, values }]))[0]!
  }

  private async appendFeedsNow(batches: readonly FeedBatch[]): Promise<AppendResult[]> {
    const write: PendingWrite = { ops: [], indexed: [], offset: this.lastOffset, states: new Map() }
    const results: AppendResult[] = []
    for (const { feed, values, ids } of batches) {
      // A feed's second batch must see the first one stored.
      if (write.states.has(feed)) await this.commit(write)
      results.push(await this.prepareAppend(feed, values, ids, write))
    }
    await this.commit(write)
    return results
  }

  private async commit(write: PendingWrite): Promise<void> {
    if (write.ops.length === 0) return
    const { ops, indexed, offset, states } = write
    Object.assign(write, { ops: [], indexed: [], states: new Map() })
    await this.db.batch(ops)
    this.lastOffset = offset
    for (const [feed, status] of states) this.statusCache.set(feed, status)
    for (const message of indexed) for (const listener of this.listeners) listener(message)
  }

  /** Validates one feed's batch against its state and adds what passes to `write`. */
  private async prepareAppend(feed: FeedId, values: readonly unknown[], verifiedIds: readonly MessageId[] | undefined, write: PendingWrite): Promise<AppendResult> {
    const result: AppendResult = { accepted: [], duplicates: 0 }
    let status = await this.feedStatus(feed)
    if (status?.forked) {
      result.rejected = { index: 0, error: new StoreError('ESTORE_FORKED', `${feed} is forked at sequence ${status.forked.sequence}; it accepts no more messages`) }
      return result
    }
    const { ops, indexed } = write
    const opsBefore = ops.length
    let offset = write.offset
    const receivedAt = Date.now()
    for (let index = 0; index < values.length; index++) {
      const value = values[index]
      const author = (value as { author?: unknown } | null)?.author
      if (author !== feed) {
        result.rejected = { index, error: new MessageError('EMSG_AUTHOR', `a message by ${String(author)} cannot be appended to ${feed}`) }
        break
      }
      const sequence = (value as { sequence?: unknown }).sequence
      if (status && typeof sequence === 'number' && sequence <= status.sequence) {
        const outcome = await this.compareWithStored(feed, value, sequence, result.accepted, verifiedIds?.[index])
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
        // two different messages at our latest sequence: a fork.
        if (status && err instanceof MessageError && err.code === 'EMSG_PREVIOUS' && sequence === status.sequence + 1) {
          const signed = verifyMessage(value, this.hmacKey).value
          result.forked = { sequence: status.sequence, kept: status.id, conflicting: signed.previous!, detectedAt: receivedAt }
          break
        }
        result.rejected = { index, error: err as Error }
        break
      }
      offset++
      const stored: StoredMessage = { key: valid.key, value: valid.value, timestamp: receivedAt, offset }
      const offsetBytes = offsetKey(offset)
      ops.push(
        { type: 'put', sublevel: this.log, key: offsetBytes, value: encodeLogEntry(stored) },
        { type: 'put', sublevel: this.feeds, key: feedSequenceKey(feed, valid.value.sequence), value: offsetBytes },
        { type: 'put', sublevel: this.byKey, key: messageKey(valid.key, offset), value: EMPTY },
      )
      const message = this.decryptForIndexing(stored, ops)
      for (const definition of this.indexes) definition.index(message, this.writerFor(definition, ops))
      indexed.push(message)
      result.accepted.push(stored)
      status = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp }
    }
    if (result.forked) status = { ...(status as FeedStatus), forked: result.forked }
    if (ops.length === opsBefore && !result.forked) return result
    ops.push({ type: 'put', sublevel: this.states, key: feedKey(feed), value: Buffer.from(JSON.stringify(status)) })
    write.offset = offset
    write.states.set(feed, status as FeedStatus)
    return result
  }

  /** Decrypts box1 content addressed to us, recording its key for later reads. */
  private decryptForIndexing(message: StoredMessage, ops: BatchOp[]): IndexedMessage {
    const { content } = message.value
    if (typeof content !== 'string' || !this.unboxer) return message
    const key = this.unboxer.unboxKey(content)
    if (!key) return message
    const decrypted = decryptWithKey(message, key)
    if (decrypted.private) ops.push({ type: 'put', sublevel: this.unboxKeys, key: offsetKey(message.offset), value: Buffer.from(key) })
    return decrypted
  }

  private async withStoredDecryption(message: StoredMessage): Promise<IndexedMessage> {
    if (typeof message.value.content !== 'string') return message
    const key = await this.unboxKeys.get(offsetKey(message.offset))
    return key ? decryptWithKey(message, key) : message
  }

  private writerFor(definition: IndexDefinition, ops: BatchOp[]): IndexWriter {
    const sublevel = this.indexSpaces.get(definition.name)!
    return {
      put: (key, value) => ops.push({ type: 'put', sublevel, key: toBuffer(key), value: value.length === 0 ? EMPTY : toBuffer(value) }),
      del: (key) => ops.push({ type: 'del', sublevel, key: toBuffer(key) }),
    }
  }

  /**
   * Drops one index (or, with null, the decryption keys) and rebuilds it from the log. Its meta
   * is written last, so a crash mid-way leaves it marked stale and it is rebuilt again.
   */
  private async rebuild(index: IndexDefinition | null, reason: IndexProgress['reason'], onProgress?: (progress: IndexProgress) => void): Promise<void> {
    const name = index?.name ?? 'unbox'
    const space = index ? this.indexSpaces.get(index.name)! : this.unboxKeys
    await space.clear()
    const total = this.lastOffset
    let done = 0
    let ops: BatchOp[] = []
    const flush = async () => {
      if (ops.length > 0) await this.db.batch(ops)
      ops = []
      onProgress?.({ index: name, done, total, reason })
    }
    if (total > 0) {
      for await (const [key, value] of this.log.iterator({})) {
        const stored = decodeLogEntry(readOffset(key), value)
        if (index) {
          index.index(await this.withStoredDecryption(stored), this.writerFor(index, ops))
        } else {
          this.decryptForIndexing(stored, ops)
        }
        done++
        if (done % REBUILD_CHUNK === 0) await flush()
      }
    }
    const meta: IndexMeta = { version: index?.version ?? 1, identity: this.identity?.id ?? null }
    ops.push({ type: 'put', sublevel: this.meta, key: Buffer.from(index ? `index:${index.name}` : 'unbox'), value: Buffer.from(JSON.stringify(meta)) })
    await flush()
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
  private async compareWithStored(feed: FeedId, value: unknown, sequence: number, pending: StoredMessage[], verifiedId?: MessageId): Promise<'duplicate' | ForkRecord | Error> {
    let incoming
    try {
      incoming = this.verify(value, verifiedId)
    } catch (err) {
      return err as Error
    }
    const inBatch = pending.find((m) => m.value.sequence === sequence)
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

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function toBufferRange(range: IndexRange) {
  const out: { gt?: Buffer; gte?: Buffer; lt?: Buffer; lte?: Buffer; reverse?: boolean; limit?: number } = {}
  if (range.gt) out.gt = toBuffer(range.gt)
  if (range.gte) out.gte = toBuffer(range.gte)
  if (range.lt) out.lt = toBuffer(range.lt)
  if (range.lte) out.lte = toBuffer(range.lte)
  if (range.reverse !== undefined) out.reverse = range.reverse
  if (range.limit !== undefined) out.limit = range.limit
  return out
}
