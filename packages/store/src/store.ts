import { promises as fs } from 'node:fs'
import { Level } from 'level'
import type { FeedId, Identity, MessageId } from '@hearsay/keys'
import {
  MessageError, createMessage, validateMessage, verifyMessage,
  type Content, type HmacKey, type MessageValue,
} from '@hearsay/message'
import { feedKey, feedSequenceKey, messageKey, offsetKey, readOffset } from './keys.ts'
import {
  StoreError,
  type AppendResult, type FeedStatus, type ForkRecord, type OpenStoreOptions, type ReadFeedOptions,
  type ReadLogOptions, type Store, type StoredMessage,
} from './types.ts'

type Db = Level<Buffer, Buffer>
function binarySublevel(db: Db, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
}
type Sub = ReturnType<typeof binarySublevel>
type BatchOp = { type: 'put'; sublevel: Sub; key: Buffer; value: Buffer }

/** What a log entry holds: the message's id, value and receive time, as compact JSON. */
interface LogEntry {
  key: MessageId
  value: MessageValue
  timestamp: number
}

const READ_CHUNK = 256

/** Opens (and with `create`, creates) a store; a missing, locked or corrupt database is a StoreError. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const db = await openLevel(options.path, options.create ?? false)
  const store = new LevelStore(options.path, db, options.hmacKey ?? null)
  await store.load()
  return store
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
  const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: isEmpty })
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
  private readonly log: Sub
  private readonly feeds: Sub
  private readonly byKey: Sub
  private readonly states: Sub
  private lastOffset = 0
  private readonly statusCache = new Map<FeedId, FeedStatus | null>()
  /** Writes run one at a time so each sees the feed states the previous one left. */
  private writing: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(
    readonly path: string,
    private readonly db: Db,
    private readonly hmacKey: HmacKey,
  ) {
    this.log = binarySublevel(db, 'log')
    this.feeds = binarySublevel(db, 'feed')
    this.byKey = binarySublevel(db, 'key')
    this.states = binarySublevel(db, 'state')
  }

  async load(): Promise<void> {
    for await (const key of this.log.keys({ reverse: true, limit: 1 })) this.lastOffset = readOffset(key)
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

  async get(id: MessageId): Promise<StoredMessage | null> {
    this.assertOpen()
    const offset = await this.byKey.get(messageKey(id))
    return offset === undefined ? null : this.readOffsets([readOffset(offset)]).then(([m]) => m ?? null)
  }

  async *readFeed(feed: FeedId, options: ReadFeedOptions = {}): AsyncIterable<StoredMessage> {
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
        yield* await this.readOffsets(offsets)
        offsets = []
      }
    }
    if (offsets.length > 0) yield* await this.readOffsets(offsets)
  }

  async *readLog(options: ReadLogOptions = {}): AsyncIterable<StoredMessage> {
    this.assertOpen()
    const range = {
      gt: offsetKey(options.gt ?? 0),
      reverse: options.reverse ?? false,
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    }
    for await (const [key, value] of this.log.iterator(range)) yield decodeEntry(readOffset(key), value)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writing.catch(() => undefined)
    await this.db.close()
  }

  private async readOffsets(offsets: number[]): Promise<StoredMessage[]> {
    const values = await this.log.getMany(offsets.map(offsetKey))
    return values.map((value, i) => {
      if (value === undefined) throw new StoreError('ESTORE_CORRUPT', `the log has no entry ${offsets[i]} though an index points to it`)
      return decodeEntry(offsets[i]!, value)
    })
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
    const result: AppendResult = { accepted: [], duplicates: 0 }
    let status = await this.feedStatus(feed)
    if (status?.forked) {
      result.rejected = { index: 0, error: new StoreError('ESTORE_FORKED', `${feed} is forked at sequence ${status.forked.sequence}; it accepts no more messages`) }
      return result
    }
    const ops: BatchOp[] = []
    let offset = this.lastOffset
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
        const outcome = await this.compareWithStored(feed, value, sequence, result.accepted)
        if (outcome === 'duplicate') {
          result.duplicates++
          continue
        }
        if (outcome instanceof Error) {
          result.rejected = { index, error: outcome }
          break
        }
        result.forked = outcome
        break
      }
      let valid
      try {
        valid = validateMessage(status, value, this.hmacKey)
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
        { type: 'put', sublevel: this.log, key: offsetBytes, value: encodeEntry(stored) },
        { type: 'put', sublevel: this.feeds, key: feedSequenceKey(feed, valid.value.sequence), value: offsetBytes },
        { type: 'put', sublevel: this.byKey, key: messageKey(valid.key), value: offsetBytes },
      )
      result.accepted.push(stored)
      status = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp }
    }
    if (result.forked) status = { ...(status as FeedStatus), forked: result.forked }
    if (ops.length === 0 && !result.forked) return result
    ops.push({ type: 'put', sublevel: this.states, key: feedKey(feed), value: Buffer.from(JSON.stringify(status)) })
    await this.db.batch(ops)
    this.lastOffset = offset
    this.statusCache.set(feed, status)
    return result
  }

  /** A message at a sequence we already hold: the same one again, a fork, or simply invalid. */
  private async compareWithStored(feed: FeedId, value: unknown, sequence: number, pending: StoredMessage[]): Promise<'duplicate' | ForkRecord | Error> {
    let incoming
    try {
      incoming = verifyMessage(value, this.hmacKey)
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
    const [message] = await this.readOffsets([readOffset(offset)])
    return message?.key ?? null
  }
}

function encodeEntry(message: StoredMessage): Buffer {
  const entry: LogEntry = { key: message.key, value: message.value, timestamp: message.timestamp }
  return Buffer.from(JSON.stringify(entry), 'utf8')
}

function decodeEntry(offset: number, raw: Buffer): StoredMessage {
  const entry = JSON.parse(raw.toString('utf8')) as LogEntry
  return { key: entry.key, value: entry.value, timestamp: entry.timestamp, offset }
}
