import type { Source } from 'pull-stream'
import { isFeedId, type FeedId } from '@hearsay/keys'
import type { IndexedMessage, Store } from '@hearsay/store'
import { batchedSource, collect } from './pull.ts'
import type { ReadBudget } from './backpressure.ts'

/** Messages read from the store per batch of a stream. */
const CHUNK = 100
/**
 * A history stream's first batch, doubled per batch up to CHUNK. A peer opens one stream per feed
 * it replicates, hundreds at once, and each holds the batch it read until the peer takes it (see
 * backpressure.ts): small first batches keep what a peer that stops reading costs to a few kB per
 * stream, where a whole CHUNK per stream can be the whole log.
 */
const FIRST_HISTORY_CHUNK = 8

interface Waiter {
  resolve(woken: boolean): void
}

export interface Wait {
  /** True when something was appended, false when cancelled or the notifier closed. */
  readonly woken: Promise<boolean>
  cancel(): void
}

/**
 * Wakes live streams when the store appends. A stream arms a wait BEFORE reading, so a message
 * appended between its read and its wait still wakes it; waits are one-shot.
 */
export class StoreNotifier {
  private readonly byFeed = new Map<FeedId, Set<Waiter>>()
  private readonly anyFeed = new Set<Waiter>()
  private readonly unsubscribe: () => void
  private closed = false

  constructor(store: Store) {
    this.unsubscribe = store.subscribe((message) => {
      const feed = this.byFeed.get(message.value.author)
      if (feed) {
        this.byFeed.delete(message.value.author)
        for (const waiter of feed) waiter.resolve(true)
      }
      if (this.anyFeed.size > 0) {
        const all = [...this.anyFeed]
        this.anyFeed.clear()
        for (const waiter of all) waiter.resolve(true)
      }
    })
  }

  /** A wait for the next message of `feed`, or of any feed. */
  arm(feed?: FeedId): Wait {
    let settle!: (woken: boolean) => void
    const woken = new Promise<boolean>((resolve) => {
      settle = resolve
    })
    // Resolved once: resolving a settled promise again costs a trip through V8's reject hook.
    let settled = false
    const waiter: Waiter = {
      resolve(value) {
        if (settled) return
        settled = true
        settle(value)
      },
    }
    if (this.closed) {
      waiter.resolve(false)
      return { woken, cancel() {} }
    }
    let set: Set<Waiter>
    if (feed === undefined) set = this.anyFeed
    else {
      set = this.byFeed.get(feed) ?? new Set()
      this.byFeed.set(feed, set)
    }
    set.add(waiter)
    return {
      woken,
      cancel: () => {
        set.delete(waiter)
        if (feed !== undefined && set.size === 0 && this.byFeed.get(feed) === set) this.byFeed.delete(feed)
        waiter.resolve(false)
      },
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    for (const set of this.byFeed.values()) for (const waiter of set) waiter.resolve(false)
    for (const waiter of this.anyFeed) waiter.resolve(false)
    this.byFeed.clear()
    this.anyFeed.clear()
  }
}

/** An RPC argument error: the caller asked for something malformed. */
export class RpcArgumentError extends Error {
  override readonly name = 'RpcArgumentError'
}

export interface HistoryStreamOptions {
  id: FeedId
  /** First sequence to send (inclusive); 0 and 1 both mean the start. */
  seq: number
  live: boolean
  old: boolean
  limit: number
  keys: boolean
  values: boolean
}

/**
 * createHistoryStream's arguments as ssb-db reads them: `{id, seq|sequence, live, old, limit,
 * keys, values}`, or the legacy positional `(id, seq, live)`.
 */
export function parseHistoryStreamArgs(args: readonly unknown[]): HistoryStreamOptions {
  let raw: Record<string, unknown>
  if (typeof args[0] === 'string') raw = { id: args[0], seq: args[1], live: args[2] }
  else if (args[0] !== null && typeof args[0] === 'object' && !Array.isArray(args[0])) raw = args[0] as Record<string, unknown>
  else throw new RpcArgumentError('createHistoryStream takes {id, seq, live, limit, keys}')
  if (!isFeedId(raw.id)) throw new RpcArgumentError(`createHistoryStream: id must be a feed id, not ${JSON.stringify(raw.id)?.slice(0, 80)}`)
  const seq = raw.seq ?? raw.sequence ?? 0
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) throw new RpcArgumentError('createHistoryStream: seq must be a non-negative integer')
  const limit = raw.limit ?? -1
  if (typeof limit !== 'number' || !Number.isInteger(limit)) throw new RpcArgumentError('createHistoryStream: limit must be an integer')
  return {
    id: raw.id,
    seq,
    live: raw.live === true,
    old: raw.old !== false,
    limit: limit < 0 ? Infinity : limit,
    keys: raw.keys !== false,
    values: raw.values !== false,
  }
}

/** ssb-db's shaping of a message by `keys` and `values`. */
export function formatMessage(message: IndexedMessage, keys: boolean, values: boolean): unknown {
  if (keys && values) {
    const out: Record<string, unknown> = { key: message.key, value: message.value, timestamp: message.timestamp }
    if (message.private) out.private = true
    return out
  }
  if (keys) return message.key
  return message.value
}

/**
 * One feed in sequence order from `seq` (inclusive), then, if `live`, each new message as it is
 * stored, until the reader aborts. Never decrypted: this is what replication serves. A `gate`
 * answering false (checked before the first read) makes it an empty stream.
 */
export function historyStream(store: Store, notifier: StoreNotifier, options: HistoryStreamOptions, gate?: () => Promise<boolean>, budget?: ReadBudget): Source<unknown> {
  let next = options.old ? Math.max(options.seq, 1) : -1
  let remaining = options.limit
  let chunk = FIRST_HISTORY_CHUNK
  let wait: Wait | null = null
  let cancelled = false
  /** A batch of up to `want` messages from `next` on, within the connection's budget: what it does not fill goes back. */
  const read = async (want: number) => {
    const granted = budget ? await budget.take(want) : want
    let found: IndexedMessage[] = []
    try {
      if (!cancelled) found = await collect(store.readFeed(options.id, { gt: next - 1, limit: granted }))
    } finally {
      budget?.give(granted - found.length)
    }
    return found
  }
  return batchedSource(
    async () => {
      if (remaining <= 0 || cancelled) return null
      if (gate) {
        const allowed = await gate()
        gate = undefined
        if (!allowed) return null
      }
      if (next < 0) next = ((await store.feedStatus(options.id))?.sequence ?? 0) + 1
      for (;;) {
        wait = options.live ? notifier.arm(options.id) : null
        const found = await read(Math.min(chunk, remaining))
        if (found.length > 0) {
          chunk = Math.min(CHUNK, chunk * 2)
          wait?.cancel()
          next = found[found.length - 1]!.value.sequence + 1
          remaining -= found.length
          return found.map((message) => formatMessage(message, options.keys, options.values))
        }
        if (!wait || !(await wait.woken) || cancelled) return null
      }
    },
    () => {
      cancelled = true
      wait?.cancel()
    },
    (count) => budget?.give(count),
  )
}

export interface LogStreamOptions {
  /** Bounds on the receive timestamp, as ssb-db's createLogStream takes them. */
  gt?: number
  gte?: number
  lt?: number
  lte?: number
  reverse: boolean
  limit: number
  live: boolean
  old: boolean
  keys: boolean
  values: boolean
  /** Decrypt private messages addressed to us (ssb-db's `private: true`). */
  private: boolean
  /** Send `{sync: true}` between the stored messages and the live ones. */
  sync: boolean
}

export function parseLogStreamArgs(args: readonly unknown[]): LogStreamOptions {
  const raw = (args[0] !== null && typeof args[0] === 'object' && !Array.isArray(args[0]) ? args[0] : {}) as Record<string, unknown>
  const bound = (name: string): number | undefined => {
    const value = raw[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'number' || Number.isNaN(value)) throw new RpcArgumentError(`createLogStream: ${name} must be a number`)
    return value
  }
  const limit = raw.limit ?? -1
  if (typeof limit !== 'number' || !Number.isInteger(limit)) throw new RpcArgumentError('createLogStream: limit must be an integer')
  const options: LogStreamOptions = {
    reverse: raw.reverse === true,
    limit: limit < 0 ? Infinity : limit,
    live: raw.live === true,
    old: raw.old !== false,
    keys: raw.keys !== false,
    values: raw.values !== false,
    private: raw.private === true,
    sync: raw.sync === true,
  }
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const value = bound(name)
    if (value !== undefined) options[name] = value
  }
  return options
}

function inRange(message: IndexedMessage, options: LogStreamOptions): boolean {
  const t = message.timestamp
  return (
    (options.gt === undefined || t > options.gt) && (options.gte === undefined || t >= options.gte)
    && (options.lt === undefined || t < options.lt) && (options.lte === undefined || t <= options.lte)
  )
}

/**
 * Every message in receive order (or reversed), filtered by receive time; then, if `live`, each
 * new one as it is stored.
 */
export function logStream(store: Store, notifier: StoreNotifier, options: LogStreamOptions): Source<unknown> {
  // Messages up to the horizon are "old"; those after it come through the live part.
  const horizon = store.lastOffset
  let remaining = options.limit
  let old: AsyncIterator<IndexedMessage> | null = options.old ? store.readLog({ reverse: options.reverse, decrypt: options.private })[Symbol.asyncIterator]() : null
  let cursor = horizon
  let syncSent = false
  let wait: Wait | null = null
  let cancelled = false
  const shape = (message: IndexedMessage) => formatMessage(message, options.keys, options.values)

  return batchedSource(
    async () => {
      if (remaining <= 0 || cancelled) return null
      if (old) {
        const batch: unknown[] = []
        while (batch.length < CHUNK && batch.length < remaining) {
          const item = await old.next()
          if (item.done || (!options.reverse && item.value.offset > horizon)) {
            await old.return?.()
            old = null
            break
          }
          if (item.value.offset <= horizon && inRange(item.value, options)) batch.push(shape(item.value))
        }
        remaining -= batch.length
        if (batch.length > 0) return batch
      }
      if (!options.live) return null
      if (options.sync && options.old && !syncSent) {
        syncSent = true
        return [{ sync: true }]
      }
      for (;;) {
        wait = notifier.arm()
        const found = await collect(store.readLog({ gt: cursor, limit: CHUNK, decrypt: options.private }))
        if (found.length > 0) {
          wait.cancel()
          cursor = found[found.length - 1]!.offset
          const batch = found.filter((message) => inRange(message, options)).slice(0, remaining).map(shape)
          remaining -= batch.length
          if (batch.length > 0) return batch
          continue
        }
        if (!(await wait.woken) || cancelled) return null
      }
    },
    () => {
      cancelled = true
      wait?.cancel()
      void old?.return?.()
    },
  )
}
