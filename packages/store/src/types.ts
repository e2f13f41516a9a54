import type { FeedId, Identity, MessageId } from '@hearsay/keys'
import type { Content, FeedState, HmacKey, Message, MessageError } from '@hearsay/message'
import type { IndexDefinition, IndexedMessage, IndexProgress } from './indexes/definition.ts'
import type { LocalState } from './local-state.ts'

export interface OpenStoreOptions {
  /** Directory holding the LevelDB database; created when `create` is true. */
  path: string
  /** Create the database when it does not exist (default false: a missing store is an error). */
  create?: boolean
  /** HMAC key of a private network; null or omitted for the main network. */
  hmacKey?: HmacKey
  /** Whose private messages to decrypt and index; without it box1 content stays opaque. */
  identity?: Identity
  /** The indexes to maintain (default: all of Hearsay's). */
  indexes?: readonly IndexDefinition[]
  /** Reports rebuild progress of indexes that are new or whose version changed. */
  onIndexProgress?: (progress: IndexProgress) => void
}

/** A message as stored: the `{key, value, timestamp}` plus its place in local receive order. */
export interface StoredMessage extends Message {
  /** Position in this store's receive order, 1-based, never reused: "what's new since N". Gap-free unless a feed was reclaimed. */
  offset: number
}

export interface FeedStatus extends FeedState {
  /** Set once the author was caught signing two different messages at one sequence. */
  forked?: ForkRecord
}

export interface ForkRecord {
  sequence: number
  /** The message we hold at that sequence. */
  kept: MessageId
  /** The conflicting message, verified as signed by the author. */
  conflicting: MessageId
  detectedAt: number
}

export interface AppendResult {
  /** Messages newly stored, in order. */
  accepted: StoredMessage[]
  /** Messages we already had (same id at the same sequence). */
  duplicates: number
  /** The first invalid message stops the batch: it and everything after it are not stored. */
  rejected?: { index: number; error: MessageError | Error }
  /** The batch revealed a fork of this feed (the feed no longer accepts messages). */
  forked?: ForkRecord
}

export interface ReadFeedOptions {
  /** Sequence bounds, exclusive. */
  gt?: number
  lt?: number
  limit?: number
  reverse?: boolean
}

export interface ReadOptions {
  /** Return box1 content decrypted (with `private: true`) when it was addressed to us. */
  decrypt?: boolean
}

export interface ReadLogOptions {
  /** Offset bounds, exclusive. */
  gt?: number
  limit?: number
  reverse?: boolean
}

export interface Store {
  readonly path: string
  /** Latest state of a feed, or null if we hold none of it. */
  feedStatus(feed: FeedId): Promise<FeedStatus | null>
  /**
   * Appends messages of ONE feed, validated in order against its latest state, and writes all
   * that pass (with their index entries) in one atomic batch.
   */
  append(feed: FeedId, values: readonly unknown[]): Promise<AppendResult>
  /** Creates, signs and appends the next message of `identity`'s own feed. */
  publish(identity: Identity, content: Content): Promise<StoredMessage>
  get(id: MessageId, options?: ReadOptions): Promise<IndexedMessage | null>
  readFeed(feed: FeedId, options?: ReadFeedOptions & ReadOptions): AsyncIterable<IndexedMessage>
  readLog(options?: ReadLogOptions & ReadOptions): AsyncIterable<IndexedMessage>
  /** Messages at these log offsets, in the same order (what index entries point to). */
  getByOffsets(offsets: readonly number[], options?: ReadOptions): Promise<IndexedMessage[]>
  /** Read access to one index's key space, for queries. */
  indexReader(name: string): IndexReader
  /** Called with every message stored from now on, after it and its index entries are written. */
  subscribe(listener: (message: IndexedMessage) => void): () => void
  /** The last log offset written: every message stored so far has an offset at most this. */
  readonly lastOffset: number
  /** This peer's own key/value state `name` (never replicated), in the store's database. */
  localState<T = unknown>(name: string): LocalState<T>
  close(): Promise<void>
}

export interface IndexRange {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  reverse?: boolean
  limit?: number
}

export interface IndexReader {
  get(key: Uint8Array): Promise<Buffer | undefined>
  /** Several point reads in one call (values in the order of `keys`). */
  getMany(keys: readonly Uint8Array[]): Promise<Array<Buffer | undefined>>
  entries(range: IndexRange): AsyncIterable<[Buffer, Buffer]>
  keys(range: IndexRange): AsyncIterable<Buffer>
}

export class StoreError extends Error {
  override readonly name = 'StoreError'
  constructor(
    readonly code: 'ESTORE_MISSING' | 'ESTORE_LOCKED' | 'ESTORE_CORRUPT' | 'ESTORE_FORKED' | 'ESTORE_CLOSED' | 'ESTORE_FORMAT' | 'ESTORE_RECLAIMED' | 'ESTORE_DISK_FULL',
    message: string,
  ) {
    super(message)
  }
}
