import type { Duplex, End, Source, SourceCallback } from 'pull-stream'
import type { FeedId, MessageId } from '@hearsay/keys'
import { appendFeeds, storeHmacKey, StoreError, type AppendResult, type BatchVerifier, type Store } from '@hearsay/store'
import { pumpBatches, type Pump } from './pull.ts'
import { messageOf, type PeerEvent } from './events.ts'

/** One connected peer as replication sees it. */
export interface ReplicationPeer {
  readonly id: FeedId
  /** True when it dialed us: then it is the one to start EBT, as in ssb-ebt. */
  readonly inbound: boolean
  /** Bytes written to its socket so far (EBT paces its sending by it). */
  readonly traffic: { readonly bytesOut: number }
  /**
   * Stops (true) or resumes (false) reading from its socket: what we cannot store as fast as
   * it arrives then waits in TCP buffers, and TCP slows the sender, instead of piling up here.
   */
  holdReading(hold: boolean): void
  /** The peer's createHistoryStream, called over muxrpc. */
  createHistoryStream(options: { id: FeedId; seq: number; live: boolean; keys: false }): Source<unknown>
  /** The peer's ebt.replicate, called over muxrpc; `done` gets how the stream ended. */
  ebtReplicate(options: { version: 3; format: 'classic' }, done: (err: Error | null) => void): Duplex<unknown, unknown>
  /** Drops the peer: it sent us something no honest peer sends. */
  cutOff(reason: string): void
  readonly closed: boolean
}

/**
 * How we fetch feeds from connected peers: by createHistoryStream (below), or by EBT with the
 * peers that speak it (ebt.ts).
 */
export interface ReplicationStrategy {
  /** A peer connected: start fetching the wanted feeds from it. */
  attach(peer: ReplicationPeer): void
  /**
   * The peer called our `ebt.replicate` with `options`: the duplex that answers it. Throws
   * (muxrpc sends the error back) when we cannot replicate that way.
   */
  accept(peer: ReplicationPeer, options: unknown): Duplex<unknown, unknown>
  /** It disconnected: stop everything on it. */
  detach(peer: ReplicationPeer): void
  /** The feeds we want changed: request new ones, drop unwanted (say, newly blocked) ones. */
  setWanted(feeds: ReadonlySet<FeedId>): void
  /** Stops everything; resolves once what it keeps for the next run is written. */
  close(): Promise<void>
}

/**
 * `source` with reads that can be held: while held, a read waits until released. muxrpc reads
 * its connection as fast as data comes and buffers without bound; holding the connection's
 * reads is how a peer that receives faster than it stores makes TCP slow the sender down.
 */
export function holdable<T>(source: Source<T>): { source: Source<T>; hold(held: boolean): void } {
  let held = false
  let parked: SourceCallback<T> | null = null
  return {
    source(abort: End, cb: SourceCallback<T>) {
      if (abort) {
        const waiting = parked
        parked = null
        source(abort, (end) => {
          waiting?.(end || abort)
          cb(end || abort)
        })
      } else if (held) parked = cb
      else source(null, cb)
    },
    hold(value) {
      held = value
      if (held || !parked) return
      const cb = parked
      parked = null
      source(null, cb)
    },
  }
}

/** One requested feed on one peer; its pump once the request is made. */
interface Entry {
  pump: Pump | null
}

/**
 * Batches at least this big have their signatures checked by the verifier, on other threads; a
 * smaller one costs less checked here than sent there and back.
 */
const VERIFY_ELSEWHERE_FROM = 64
/** After the verifier fails, how long received signatures are checked here before it is asked again. */
const VERIFIER_RETRY_MS = 60_000

/**
 * Received batches' signatures checked on a verifier's threads, for the store to take instead of
 * checking each one on this thread (appendFeeds binds each verdict to its message by re-deriving
 * the id, so a wrong or stale verdict only costs a check here). If the verifier fails (say, its
 * threads cannot start), that is reported once, and the store checks everything itself for a
 * while before the verifier is asked again.
 */
export class OffThreadChecks {
  private retryAt = 0

  constructor(
    private readonly verifier: BatchVerifier | undefined,
    private readonly store: Store,
    private readonly report: (event: PeerEvent) => void,
  ) {}

  /** The verifier's ids for `values` (undefined for one it refused); undefined when the store is to check them all. */
  async ids(values: readonly unknown[]): Promise<ReadonlyArray<MessageId | undefined> | undefined> {
    if (!this.verifier || values.length < VERIFY_ELSEWHERE_FROM || Date.now() < this.retryAt) return undefined
    try {
      const verdicts = await this.verifier.verifyBatch(values, storeHmacKey(this.store))
      return verdicts.map((verdict) => ('key' in verdict ? verdict.key : undefined))
    } catch (err) {
      if (Date.now() >= this.retryAt) {
        this.report({ event: 'error', reason: `could not check signatures on other threads, so this one checks them for a while: ${messageOf(err)}` })
      }
      this.retryAt = Date.now() + VERIFIER_RETRY_MS
      return undefined
    }
  }
}

/** `{sync: true}` markers some servers put in streams; they are not messages. */
function isSyncMarker(value: unknown): boolean {
  return value !== null && typeof value === 'object' && (value as { sync?: unknown }).sync === true && !('author' in value)
}

/**
 * Legacy replication: per peer, per wanted feed, one live createHistoryStream from the sequence
 * after the latest we hold (so a reconnect resumes where the last connection stopped). What
 * arrives is appended in batches, each validated against the feed; the first invalid message
 * cuts the peer off (the valid ones before it are kept).
 */
export class HistoryStreamReplication implements ReplicationStrategy {
  private wanted: ReadonlySet<FeedId> = new Set()
  private readonly sessions = new Map<ReplicationPeer, Map<FeedId, Entry>>()
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly emit: (event: PeerEvent) => void,
    /** Where received signatures are checked; without it, the store checks them. */
    private readonly checks?: OffThreadChecks,
  ) {}

  attach(peer: ReplicationPeer): void {
    if (this.closed || this.sessions.has(peer)) return
    this.sessions.set(peer, new Map())
    for (const feed of this.wanted) this.start(peer, feed)
  }

  accept(): Duplex<unknown, unknown> {
    throw new Error('ebt.replicate is not supported here')
  }

  detach(peer: ReplicationPeer): void {
    const streams = this.sessions.get(peer)
    if (!streams) return
    this.sessions.delete(peer)
    for (const entry of streams.values()) entry.pump?.abort()
  }

  setWanted(feeds: ReadonlySet<FeedId>): void {
    this.wanted = new Set(feeds)
    for (const [peer, streams] of this.sessions) {
      for (const [feed, entry] of streams) {
        if (!this.wanted.has(feed)) {
          streams.delete(feed)
          entry.pump?.abort()
        }
      }
      for (const feed of this.wanted) if (!streams.has(feed)) this.start(peer, feed)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const peer of [...this.sessions.keys()]) this.detach(peer)
  }

  /** Streams being fetched from `peer` (for status and tests). */
  feedsFrom(peer: ReplicationPeer): FeedId[] {
    return [...(this.sessions.get(peer)?.keys() ?? [])]
  }

  private start(peer: ReplicationPeer, feed: FeedId): void {
    const streams = this.sessions.get(peer)!
    const entry: Entry = { pump: null }
    streams.set(feed, entry)
    const current = () => this.sessions.get(peer) === streams && streams.get(feed) === entry && !peer.closed
    this.store.feedStatus(feed).then(
      (status) => {
        if (!current()) return
        if (status?.forked) {
          streams.delete(feed)
          return
        }
        let source: Source<unknown>
        try {
          source = peer.createHistoryStream({ id: feed, seq: (status?.sequence ?? 0) + 1, live: true, keys: false })
        } catch {
          streams.delete(feed) // the connection closed meanwhile
          return
        }
        entry.pump = pumpBatches(
          source,
          (batch) => this.receive(peer, feed, batch),
          (end) => {
            if (streams.get(feed) === entry) streams.delete(feed)
            if (end instanceof Error && !peer.closed && !this.closed) {
              this.emit({ event: 'stream-ended', peer: peer.id, feed, reason: end.message })
            }
          },
        )
      },
      (err: unknown) => {
        if (streams.get(feed) === entry) streams.delete(feed)
        this.emit({ event: 'error', peer: peer.id, feed, reason: messageOf(err) })
      },
    )
  }

  private async receive(peer: ReplicationPeer, feed: FeedId, batch: unknown[]): Promise<boolean> {
    const values = batch.filter((value) => !isSyncMarker(value))
    if (values.length === 0) return true
    let result: AppendResult
    try {
      const ids = await this.checks?.ids(values)
      result = (await appendFeeds(this.store, [{ feed, values, ...(ids ? { ids } : {}) }]))[0]!
    } catch (err) {
      if (err instanceof StoreError && err.code === 'ESTORE_CLOSED') return false
      throw err
    }
    const replicated = replicatedEvent(peer.id, feed, result)
    if (replicated) this.emit(replicated)
    if (result.forked) {
      this.emit({ event: 'fork', peer: peer.id, feed, sequence: result.forked.sequence })
      return false
    }
    if (result.rejected) {
      const { error } = result.rejected
      // Another peer revealed a fork first, or we reclaimed the feed meanwhile: this one is not to blame.
      if (error instanceof StoreError && (error.code === 'ESTORE_FORKED' || error.code === 'ESTORE_RECLAIMED')) return false
      peer.cutOff(`sent an invalid message of ${feed}: ${error.message}`)
      return false
    }
    return true
  }
}

/** The `replicated` event for what the store said of a batch of `feed` from `peer`; null when it held nothing new nor known. */
export function replicatedEvent(peer: FeedId, feed: FeedId, result: AppendResult): PeerEvent | null {
  if (result.accepted.length === 0 && result.duplicates === 0) return null
  return {
    event: 'replicated',
    peer,
    feed,
    accepted: result.accepted.length,
    duplicates: result.duplicates,
    sequence: result.accepted.at(-1)?.value.sequence ?? null,
  }
}
