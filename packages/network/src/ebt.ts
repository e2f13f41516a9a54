import { createRequire } from 'node:module'
import type { Duplex, End, Source, SourceCallback } from 'pull-stream'
import { isFeedId, type FeedId, type MessageId } from '@hearsay/keys'
import type { MessageValue } from '@hearsay/message'
import {
  appendFeeds, blockers, isBlocking, StoreError, type AppendResult, type BatchVerifier, type IndexedMessage, type LocalState, type Store,
} from '@hearsay/store'
import { collect } from './pull.ts'
import { messageOf, type PeerEvent } from './events.ts'
import { HistoryStreamReplication, OffThreadChecks, replicatedEvent, type ReplicationPeer, type ReplicationStrategy } from './replication.ts'

// Epidemic broadcast tree replication (ssb-ebt's `ebt.replicate`, version 3, classic format),
// driven by the npm epidemic-broadcast-trees state machine that ssb-ebt itself runs on; this
// file is the adapter between it, our store and muxrpc.

/** The `ebt.replicate` arguments we send, as ssb-ebt does. */
export const EBT_REQUEST = { version: 3, format: 'classic' } as const

/** Messages read from the store at once for a feed being sent (later ones are served from memory). */
const READ_AHEAD = 100
/** Feeds whose read-ahead is kept; the least recently read is dropped first. */
const READ_AHEAD_FEEDS = 64
/** Store reads for sending at once. */
const READS_IN_FLIGHT = 4
/** Reads answered from memory per turn of the event loop before the rest wait for the next. */
const CACHED_ANSWERS_PER_TURN = 256
/** Messages handed to the store at most per round of appends. */
const APPEND_ROUND = 1000
/** Received messages waiting for the store beyond which we stop reading from EBT peers' sockets. */
const RECEIVE_HIGH_WATER = 2000
/** …and at which we read again. */
const RECEIVE_LOW_WATER = 500
/**
 * Bytes handed to muxrpc but not yet written to the socket beyond which sending to a peer
 * pauses: muxrpc buffers without bound, and EBT would read a whole database into that buffer
 * for a peer slower than our disk.
 */
const SEND_WINDOW = 2 * 1024 * 1024
/** How often a paused sender looks whether the socket caught up. */
const SEND_POLL_MS = 5
/**
 * Peers whose last clock is kept for their next connection, in memory and in the store (so a
 * restart does not ask every peer about every feed again); the least recently seen go first.
 */
export const REMEMBERED_CLOCKS = 1000
/** The local state the clocks are kept in: a clock per peer, and the order they were seen in. */
export const CLOCK_STATE = 'ebt-clocks'
const CLOCK_ORDER_STATE = 'ebt-clock-order'
const CLOCK_ORDER_KEY = 'peers'
/**
 * Feeds we do not replicate that one peer's notes may tell EBT about in a session. EBT keeps a
 * note per feed per peer (it is how it knows whom to ask once we want a feed), so without a
 * bound a peer naming made-up feeds grows our state without end; past this, notes about more
 * such feeds are dropped (we could not fetch those from this peer until it reconnects).
 */
export const UNWANTED_NOTES_PER_PEER = 10_000

// The parts of epidemic-broadcast-trees (untyped CommonJS) this adapter uses.
type Callback<T> = (err: Error | null, value?: T) => void
interface EbtStream {
  paused: boolean
  ended: boolean
  sink: PushSink | null
  source: PushSource | null
  write(data: unknown): void
  end(err?: unknown): void
  abort(err?: unknown): void
  resume(): void
  pipe(sink: PushSink): void
}
interface PushSink {
  paused: boolean
  ended?: boolean
  source: EbtStream | null
  write(data: unknown): void
  end(err?: unknown): void
}
interface PushSource {
  ended?: boolean
  resume(): void
  abort(err?: unknown): void
}
type Clock = Record<string, number>
interface EbtPeerState {
  /** What the peer's notes (and its clock saved from before) say it holds, per feed. */
  clock: Clock | null
  /** Per feed: whether we send it to the peer, and the last sequence sent. */
  replicating: Record<string, { tx: boolean; sent: number | null } | undefined> | null
}
interface Ebt {
  state: { clock: Clock; peers: Record<string, EbtPeerState | undefined>; blocks: Record<string, Record<string, boolean>> }
  request(feed: FeedId, replicate: boolean): void
  block(author: FeedId, target: FeedId, blocking: boolean): void
  createStream(remote: FeedId, version: number, client: boolean): EbtStream
  onAppend(value: MessageValue): void
  update(): void
}
interface EbtOptions {
  id: FeedId
  getClock(remote: FeedId, cb: Callback<Clock>): void
  setClock(remote: FeedId, clock: Clock | null): void
  getAt(pair: { id: FeedId; sequence: number }, cb: Callback<MessageValue>): void
  append(value: MessageValue, cb: (err: Error | null) => void): void
  isFeed(id: unknown): boolean
}
const createEbt = createRequire(import.meta.url)('epidemic-broadcast-trees') as (options: EbtOptions) => Ebt

/** One peer replicating with us by EBT. */
interface Session {
  stream: EbtStream
  /** Set once the remote sent anything on it: then it speaks EBT, and an error is no reason to fall back. */
  heard: boolean
  /** Set when we ended it (disconnect, replacement, shutdown). */
  stopped: boolean
  /** Feeds we do not replicate that its notes named, up to UNWANTED_NOTES_PER_PEER. */
  unwantedNoted: number
  /** True while its socket has a window's worth of our data still to write. */
  readonly sendingPaused: boolean
}

interface PendingAppend {
  value: MessageValue
  from: ReplicationPeer | undefined
  done: (err: Error | null) => void
}

/** Messages taken off the queue together, and their signatures' verdicts once the verifier has them. */
interface Round {
  items: PendingAppend[]
  ids: Promise<ReadonlyArray<MessageId | undefined> | undefined>
}

/** One feed's messages from one sender within a round. */
interface Group {
  feed: FeedId
  from: ReplicationPeer | undefined
  items: PendingAppend[]
  ids: Array<MessageId | undefined>
}

/**
 * EBT with peers that speak it, createHistoryStream with those that don't. As ssb-ebt does, the
 * side that dialed calls `ebt.replicate` (`attach` of an outbound peer); if the remote answers
 * with an error before anything else (ssb-server without ssb-ebt does), we fall back to
 * createHistoryStream. A peer that dialed us and calls `ebt.replicate` gets EBT (`accept`); one
 * that calls createHistoryStream instead is replicated that way.
 *
 * What arrives is appended in batches through `Store.append`, which validates every message; the
 * first invalid one, or a fork, cuts its sender off (the valid ones before it are kept). Feeds
 * are only requested while wanted, and a feed is never offered to a peer it blocks. Each peer's
 * last known clock is remembered in memory (for the last REMEMBERED_CLOCKS peers) for the next
 * connection, so a reconnect skips the feeds that did not change.
 */
export class EbtReplication implements ReplicationStrategy {
  private readonly ebt: Ebt
  private readonly history: HistoryStreamReplication
  private readonly sessions = new Map<ReplicationPeer, Session>()
  private readonly byId = new Map<FeedId, ReplicationPeer>()
  private readonly clocks = new Map<FeedId, Clock>()
  private readonly checks: OffThreadChecks
  private readonly savedClocks: LocalState<Clock>
  private readonly clockOrder: LocalState<FeedId[]>
  /** Saves of clocks, one after another; close() waits for them. */
  private saving: Promise<void> = Promise.resolve()
  private readonly readAhead = new Map<FeedId, { from: number; values: MessageValue[] }>()
  /** Which connection sent each received message, so an invalid one cuts off the right peer. */
  private readonly senders = new WeakMap<object, ReplicationPeer>()
  private readonly forked = new Set<FeedId>()
  /** Reads for messages only paused peers are waiting for, made again when one resumes. */
  private heldReads: Array<{ feed: FeedId; sequence: number; cb: Callback<MessageValue> }> = []
  private queuedReads: Array<{ feed: FeedId; sequence: number; cb: Callback<MessageValue> }> = []
  private readsInFlight = 0
  /** Reads answered from read-ahead since the event loop last turned (see getAt). */
  private answeredThisTurn = 0
  private readonly unsubscribe: () => void
  private requested = new Set<FeedId>()
  /** What we replicate: notes about other feeds are bounded per peer (UNWANTED_NOTES_PER_PEER). */
  private wanted: ReadonlySet<FeedId> = new Set()
  private wantedVersion = 0
  private pending: PendingAppend[] = []
  private appending = false
  /** Peers whose socket we stopped reading while the store catches up. */
  private readonly holding = new Set<ReplicationPeer>()
  private closed = false
  /** Announcements waiting on a private message being re-read in its stored form (see `appended`). */
  private announcements: Promise<void> = Promise.resolve()
  private rereading = 0

  constructor(
    private readonly store: Store,
    private readonly emit: (event: PeerEvent) => void,
    id: FeedId,
    /** Told what each peer's notes say it holds: feed and sequence (for the status's feeds behind). */
    private readonly onClaim: (feed: FeedId, sequence: number) => void = () => {},
    /** Checks received signatures on other threads while this one stores; without it, the store checks them here. */
    verifier?: BatchVerifier,
  ) {
    this.checks = new OffThreadChecks(verifier, store, (event) => {
      if (!this.closed) this.emit(event)
    })
    this.history = new HistoryStreamReplication(store, emit, this.checks)
    this.ebt = createEbt({
      id,
      isFeed: isFeedId,
      getClock: (remote, cb) => Promise.all([this.clockOf(remote), this.prepareRemote(remote)]).then(
        ([clock]) => cb(null, { ...clock }),
        (err: unknown) => {
          // Without knowing whom this peer is blocked by, we may not replicate with it at all.
          const peer = this.byId.get(remote)
          if (!peer || this.closed) return
          this.emit({ event: 'error', peer: remote, reason: `could not look up who blocks this peer: ${messageOf(err)}` })
          this.endSession(peer, err instanceof Error ? err : new Error(String(err)))
        },
      ),
      // Null when the session ended before the peer's clock was known: keep the one we had.
      setClock: (remote, clock) => {
        if (!clock) return
        // Only notes about wanted feeds steer our first notes next time; the peer repeats the rest.
        const kept: Clock = {}
        for (const feed in clock) if (this.wanted.has(feed as FeedId)) kept[feed] = clock[feed]!
        this.clocks.delete(remote)
        this.clocks.set(remote, kept)
        if (this.clocks.size > REMEMBERED_CLOCKS) this.clocks.delete(this.clocks.keys().next().value!)
        this.saveClock(remote, kept)
      },
      getAt: (pair, cb) => this.getAt(pair.id, pair.sequence, cb),
      append: (value, cb) => this.queueAppend(value, cb),
    })
    this.unsubscribe = store.subscribe((message) => this.appended(message))
    this.savedClocks = store.localState<Clock>(CLOCK_STATE)
    this.clockOrder = store.localState<FeedId[]>(CLOCK_ORDER_STATE)
  }

  attach(peer: ReplicationPeer): void {
    if (this.closed || this.sessions.has(peer) || peer.closed) return
    // A peer that dialed us and has not asked for EBT replicates the legacy way.
    if (peer.inbound) {
      this.history.attach(peer)
      return
    }
    const { session, duplex } = this.startSession(peer, true)
    let wire: Duplex<unknown, unknown>
    try {
      wire = peer.ebtReplicate(EBT_REQUEST, (err) => {
        if (!err || session.heard || session.stopped || peer.closed || this.closed) return
        // It does not speak EBT: ssb-server without ssb-ebt answers that it has no such method.
        this.endSession(peer, err)
        this.emit({ event: 'replicating', peer: peer.id, method: 'createHistoryStream', reason: err.message })
        this.history.attach(peer)
      })
    } catch (err) {
      this.endSession(peer, err instanceof Error ? err : new Error(String(err))) // the connection closed meanwhile
      return
    }
    wire.sink(duplex.source)
    duplex.sink(wire.source)
  }

  /**
   * The remote called `ebt.replicate` on us: the duplex to answer it with. Throws for requests
   * we cannot serve (another version or feed format), which muxrpc sends back as the error.
   */
  accept(peer: ReplicationPeer, options: unknown): Duplex<unknown, unknown> {
    if (this.closed || peer.closed) throw new Error('ebt.replicate: this peer is shutting down')
    const { version, format } = (options ?? {}) as { version?: unknown; format?: unknown }
    if (version !== 3) throw new Error('ebt.replicate: expected {version: 3}')
    if (format !== undefined && format !== 'classic') throw new Error(`ebt.replicate: the ${String(format)} feed format is not supported, only classic`)
    // It speaks EBT after all: whatever it was getting by createHistoryStream comes this way now.
    this.history.detach(peer)
    const { session, duplex } = this.startSession(peer, false)
    session.heard = true
    this.emit({ event: 'replicating', peer: peer.id, method: 'ebt' })
    return duplex
  }

  detach(peer: ReplicationPeer): void {
    this.history.detach(peer)
    this.endSession(peer, new Error('disconnected'))
  }

  setWanted(feeds: ReadonlySet<FeedId>): void {
    this.wanted = feeds
    this.history.setWanted(feeds)
    const version = ++this.wantedVersion
    for (const feed of this.requested) {
      if (!feeds.has(feed)) {
        this.requested.delete(feed)
        this.ebt.request(feed, false)
        // What we held of it may be gone (reclaimed once blocked): if it is wanted again, the
        // store, not this clock, says where to resume.
        delete this.ebt.state.clock[feed]
      }
    }
    const added = [...feeds].filter((feed) => !this.requested.has(feed) && !this.forked.has(feed))
    if (added.length === 0) return
    // Our clock must hold what we have of a feed before it is requested, or peers resend it all.
    void Promise.all(added.map((feed) => this.store.feedStatus(feed).then((status) => [feed, status] as const))).then(
      (statuses) => {
        if (this.closed || version !== this.wantedVersion) return
        for (const [feed, status] of statuses) {
          if (status?.forked) {
            this.forked.add(feed)
            continue
          }
          const clock = this.ebt.state.clock
          clock[feed] = Math.max(clock[feed] ?? 0, status?.sequence ?? 0)
          this.requested.add(feed)
          this.ebt.request(feed, true)
        }
      },
      (err: unknown) => {
        if (!this.closed) this.emit({ event: 'error', reason: `could not read feed states for EBT: ${messageOf(err)}` })
      },
    )
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.unsubscribe()
      for (const peer of [...this.sessions.keys()]) this.endSession(peer, new Error('closed'))
      await this.history.close()
      this.pending = []
      this.readAgain()
    }
    // Ending the sessions saved their clocks: the store must not close under those writes.
    await this.saving
  }

  /**
   * What we last knew `remote` to hold: from this run, else as saved by an earlier one. A saved
   * clock that cannot be read is reported and left out: EBT then asks about every feed, as it
   * does with a peer it never met.
   */
  private async clockOf(remote: FeedId): Promise<Clock> {
    const known = this.clocks.get(remote)
    if (known) return known
    let saved: Clock | undefined
    try {
      saved = cleanNotes(await this.savedClocks.get(remote) ?? {})
    } catch (err) {
      if (!this.closed) this.emit({ event: 'error', peer: remote, reason: `left out the EBT clock saved for this peer: ${messageOf(err)}` })
      return {}
    }
    // A session of it may have ended while we read: its clock is the newer one.
    return this.clocks.get(remote) ?? saved
  }

  /**
   * Keeps `remote`'s clock for the next run. The order is written before a clock and after a
   * deletion, so whatever a crash interrupts, every saved clock is in the order and pruned in time.
   */
  private saveClock(remote: FeedId, clock: Clock): void {
    this.saving = this.saving.then(async () => {
      const order = (await this.clockOrder.get(CLOCK_ORDER_KEY) ?? []).filter((peer) => peer !== remote)
      order.push(remote)
      const dropped = order.splice(0, Math.max(0, order.length - REMEMBERED_CLOCKS))
      await this.clockOrder.put(CLOCK_ORDER_KEY, [...dropped, ...order])
      await this.savedClocks.put(remote, clock)
      for (const peer of dropped) await this.savedClocks.del(peer)
      if (dropped.length > 0) await this.clockOrder.put(CLOCK_ORDER_KEY, order)
    }).catch((err: unknown) => {
      if (err instanceof StoreError && err.code === 'ESTORE_CLOSED') return
      this.emit({ event: 'error', peer: remote, reason: `could not save this peer's EBT clock: ${messageOf(err)}` })
    })
  }

  private startSession(peer: ReplicationPeer, client: boolean): { session: Session; duplex: Duplex<unknown, unknown> } {
    const previous = this.byId.get(peer.id)
    if (previous) this.endSession(previous, new Error('replaced by a newer EBT session'))
    const stream = this.ebt.createStream(peer.id, 3, client)
    const joined = joinPushStream(stream, {
      received: (data) => {
        if (!session.heard && client) this.emit({ event: 'replicating', peer: peer.id, method: 'ebt' })
        session.heard = true
        if (isMessageLike(data)) {
          this.senders.set(data, peer)
          return data
        }
        const notes = cleanNotes(data)
        const known = this.ebt.state.peers[peer.id]?.clock ?? {}
        for (const feed in notes) {
          if (this.wanted.has(feed as FeedId) || feed in known) continue
          if (session.unwantedNoted < UNWANTED_NOTES_PER_PEER) session.unwantedNoted++
          else delete notes[feed]
        }
        // A note is `sequence << 1 | !receive`, or -1 for a feed the peer does not replicate.
        for (const [feed, note] of Object.entries(notes)) if (note >= 2) this.onClaim(feed as FeedId, Math.floor(note / 2))
        return notes
      },
      broke: (err) => peer.cutOff(`broke the EBT protocol: ${err.message}`),
      ended: () => {
        if (this.sessions.get(peer) === session) {
          this.sessions.delete(peer)
          if (this.byId.get(peer.id) === peer) this.byId.delete(peer.id)
        }
        this.releaseReads()
      },
      bytesOut: () => peer.traffic.bytesOut,
      resumed: () => this.releaseReads(),
    })
    const session: Session = {
      stream,
      heard: false,
      stopped: false,
      unwantedNoted: 0,
      get sendingPaused() {
        return joined.paused
      },
    }
    this.sessions.set(peer, session)
    this.byId.set(peer.id, peer)
    return { session, duplex: joined.duplex }
  }

  private endSession(peer: ReplicationPeer, reason: Error): void {
    const session = this.sessions.get(peer)
    if (!session) return
    session.stopped = true
    this.sessions.delete(peer)
    if (this.byId.get(peer.id) === peer) this.byId.delete(peer.id)
    if (!session.stream.ended) session.stream.end(reason)
  }

  /**
   * Before a peer's stream starts: make EBT's view of who blocks this peer match the contact
   * index, so no feed is offered to (or taken from) a peer its author blocks.
   */
  private async prepareRemote(remote: FeedId): Promise<void> {
    const blocking = new Set(await blockers(this.store, remote))
    const { blocks } = this.ebt.state
    for (const author of Object.keys(blocks)) {
      if (blocks[author]?.[remote] && !blocking.has(author as FeedId)) this.ebt.block(author as FeedId, remote, false)
    }
    for (const author of blocking) if (!blocks[author]?.[remote]) this.ebt.block(author, remote, true)
  }

  /** Every stored message (replicated by any strategy, or published) goes out to EBT peers. */
  /**
   * The store hands its listeners a private message addressed to us already decrypted, which must
   * never leave this peer: such a message is re-read as stored (boxed) before EBT may send it,
   * and whatever follows it waits, so EBT still learns of each feed's messages in order.
   */
  private appended(message: IndexedMessage): void {
    if (!message.private && this.rereading === 0) return this.announce(message.value)
    this.rereading++
    const stored = message.private ? this.store.get(message.key) : Promise.resolve(message)
    this.announcements = this.announcements
      .then(() => stored)
      .then(
        (raw) => {
          if (raw && !this.closed) this.announce(raw.value)
        },
        (err: unknown) => {
          if (!this.closed) this.emit({ event: 'error', feed: message.value.author, reason: `could not re-read a private message to offer it: ${messageOf(err)}` })
        },
      )
      .finally(() => this.rereading--)
  }

  private announce(value: MessageValue): void {
    this.ebt.onAppend(value)
    const content = value.content as { type?: unknown; contact?: unknown } | string
    if (typeof content === 'object' && content.type === 'contact' && isFeedId(content.contact) && this.byId.has(content.contact)) {
      const target = content.contact
      void isBlocking(this.store, value.author, target).then(
        (blocking) => {
          if (!this.closed) this.ebt.block(value.author, target, blocking)
        },
        () => undefined,
      )
    }
  }

  /**
   * Message `sequence` of `feed`, read ahead a chunk at a time: EBT asks for one after another.
   * EBT reads on whatever its peers' streams do; a read only peers with a full send window
   * wait for is held until one of them catches up.
   */
  private getAt(feed: FeedId, sequence: number, cb: Callback<MessageValue>): void {
    const wanted = this.wantedBy(feed, sequence)
    // Peers that asked for it when the read was made may have gone since.
    if (wanted === 'nobody') return
    if (wanted === 'paused peers') {
      this.heldReads.push({ feed, sequence, cb })
      return
    }
    const cached = this.readAhead.get(feed)
    if (cached && sequence >= cached.from && sequence < cached.from + cached.values.length) {
      // Never answered synchronously: EBT asks for the next message from inside this callback,
      // so answers from memory would nest a call deeper per message, across every feed read
      // ahead, until the stack overflows (a peer resuming where read-ahead is cached did that).
      // Microtasks run before any I/O, so past a budget per turn of the event loop the answer
      // waits for the next turn: otherwise a chain of cached answers to many peers could keep
      // every socket (the owner's calls, other peers) waiting for seconds.
      const value = cached.values[sequence - cached.from]
      if (this.answeredThisTurn < CACHED_ANSWERS_PER_TURN) {
        if (this.answeredThisTurn++ === 0) setImmediate(() => (this.answeredThisTurn = 0))
        queueMicrotask(() => cb(null, value))
      } else setImmediate(() => cb(null, value))
      return
    }
    // Reads wait their turn: EBT asks for the next message of every feed a peer wants at once.
    this.queuedReads.push({ feed, sequence, cb })
    this.nextRead()
  }

  private nextRead(): void {
    while (this.readsInFlight < READS_IN_FLIGHT && this.queuedReads.length > 0 && !this.closed) {
      const { feed, sequence, cb } = this.queuedReads.shift()!
      const cached = this.readAhead.get(feed)
      if ((cached && sequence >= cached.from && sequence < cached.from + cached.values.length) || this.wantedBy(feed, sequence) !== 'sending peers') {
        this.getAt(feed, sequence, cb)
        continue
      }
      this.readsInFlight++
      collect(this.store.readFeed(feed, { gt: sequence - 1, limit: READ_AHEAD })).then(
        (messages) => {
          this.readsInFlight--
          if (this.closed) return
          const first = messages[0]
          if (first?.value.sequence !== sequence) cb(new Error(`${feed} has no message ${sequence}`))
          else {
            this.readAhead.delete(feed)
            if (this.readAhead.size >= READ_AHEAD_FEEDS) this.readAhead.delete(this.readAhead.keys().next().value!)
            this.readAhead.set(feed, { from: sequence, values: messages.map((message) => message.value) })
            cb(null, first.value)
          }
          this.nextRead()
        },
        (err: unknown) => {
          this.readsInFlight--
          if (this.closed) return
          cb(err instanceof Error ? err : new Error(String(err)))
          this.nextRead()
        },
      )
    }
  }

  /** Who waits for message `sequence` of `feed`: EBT sends each peer a feed in order. */
  private wantedBy(feed: FeedId, sequence: number): 'sending peers' | 'paused peers' | 'nobody' {
    let wanted: 'paused peers' | 'nobody' = 'nobody'
    for (const [id, state] of Object.entries(this.ebt.state.peers)) {
      const replicating = state?.replicating?.[feed]
      if (!replicating?.tx || replicating.sent !== sequence - 1) continue
      const peer = this.byId.get(id as FeedId)
      const session = peer && this.sessions.get(peer)
      if (!session?.sendingPaused) return 'sending peers'
      wanted = 'paused peers'
    }
    return wanted
  }

  private releaseReads(): void {
    if (this.closed || this.heldReads.length === 0) return
    for (const { feed, sequence, cb } of this.heldReads.splice(0)) this.getAt(feed, sequence, cb)
  }

  /**
   * EBT hands over received messages one by one, in order; they are gathered while the store
   * is busy and appended a feed (and sender) at a time. A message's callback is only called
   * once it is stored or known: for rejected ones never, which leaves EBT's clock where the
   * store's is (its own reaction to an error, treating the author as blocking the sender,
   * would outlive the connection).
   */
  private queueAppend(value: MessageValue, done: (err: Error | null) => void): void {
    if (this.closed) return
    const from = this.senders.get(value)
    this.pending.push({ value, from, done })
    if (from && this.pending.length > RECEIVE_HIGH_WATER && !this.holding.has(from)) {
      this.holding.add(from)
      from.holdReading(true)
    }
    if (!this.appending) void this.appendPending()
  }

  private async appendPending(): Promise<void> {
    this.appending = true
    try {
      let round = this.cutRound()
      while (round && !this.closed) {
        const ids = await round.ids
        // The next round's signatures are checked on the verifier's threads while this one is stored.
        const next = this.cutRound()
        await this.appendRound(round.items, ids)
        if (this.pending.length <= RECEIVE_LOW_WATER) this.readAgain()
        round = next ?? this.cutRound()
      }
    } finally {
      this.appending = false
      this.readAgain()
    }
  }

  /** Takes the next round off the queue and starts checking its signatures elsewhere, if it is worth it. */
  private cutRound(): Round | null {
    if (this.pending.length === 0 || this.closed) return null
    const items = this.pending.splice(0, APPEND_ROUND)
    return { items, ids: this.checks.ids(items.map((item) => item.value)) }
  }

  /** Stores a round in one write: a group per feed and sender, each checked against its feed as `append` does. */
  private async appendRound(items: readonly PendingAppend[], ids: ReadonlyArray<MessageId | undefined> | undefined): Promise<void> {
    const groups = new Map<string, Group>()
    items.forEach((item, index) => {
      if (item.from?.closed) return
      const key = `${item.value.author} ${item.from?.id ?? ''}`
      let group = groups.get(key)
      if (!group) groups.set(key, (group = { feed: item.value.author, from: item.from, items: [], ids: [] }))
      group.items.push(item)
      group.ids.push(ids?.[index])
    })
    if (groups.size === 0) return
    let results
    try {
      results = await appendFeeds(this.store, [...groups.values()].map((group) => ({ feed: group.feed, values: group.items.map((item) => item.value), ids: group.ids })))
    } catch (err) {
      if (err instanceof StoreError && err.code === 'ESTORE_CLOSED') return
      for (const { feed, from } of groups.values()) this.emit({ event: 'error', feed, reason: `could not append: ${messageOf(err)}`, ...(from ? { peer: from.id } : {}) })
      return
    }
    let index = 0
    for (const group of groups.values()) this.settle(group, results[index++]!)
  }

  /** Tells EBT which of a group's messages are stored, and deals with the peer that sent a bad one. */
  private settle({ feed, from, items }: Group, result: AppendResult): void {
    const settled = result.rejected?.index ?? result.accepted.length + result.duplicates
    for (const item of items.slice(0, settled)) item.done(null)
    const replicated = from ? replicatedEvent(from.id, feed, result) : null
    if (replicated) this.emit(replicated)
    if (result.forked) {
      this.stopFeed(feed)
      if (from) {
        this.emit({ event: 'fork', peer: from.id, feed, sequence: result.forked.sequence })
        from.cutOff(`sent a fork of ${feed} at sequence ${result.forked.sequence}`)
      }
      return
    }
    if (result.rejected) {
      const { error } = result.rejected
      // Another peer revealed a fork first, or we reclaimed the feed while this peer was
      // sending it: this one is not to blame.
      if (error instanceof StoreError && error.code === 'ESTORE_FORKED') this.stopFeed(feed)
      else if (!(error instanceof StoreError && error.code === 'ESTORE_RECLAIMED')) from?.cutOff(`sent an invalid message of ${feed}: ${error.message}`)
    }
  }

  private readAgain(): void {
    for (const peer of this.holding) peer.holdReading(false)
    this.holding.clear()
  }

  /** A forked feed accepts nothing more: stop asking anyone for it. */
  private stopFeed(feed: FeedId): void {
    this.forked.add(feed)
    if (this.requested.delete(feed)) this.ebt.request(feed, false)
  }
}

/** What EBT takes for a message (the rest it reads as a vector clock). */
function isMessageLike(data: unknown): data is MessageValue {
  if (data === null || typeof data !== 'object') return false
  const { sequence, author, content } = data as { sequence?: unknown; author?: unknown; content?: unknown }
  return Number.isInteger(sequence) && (sequence as number) > 0 && typeof author === 'string' && Boolean(content)
}

/**
 * A vector clock as EBT sends it, `{feed: seq << 1 | !receive}` (or such a clock under `clock`),
 * without the entries that are not a feed and a note: some old peers sent such keys, and
 * ssb-ebt drops them too. Anything not an object is a protocol error.
 */
function cleanNotes(data: unknown): Clock {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`sent ${JSON.stringify(data)?.slice(0, 60)}, neither a message nor a vector clock`)
  }
  const nested = (data as { clock?: unknown }).clock
  const notes = nested !== null && typeof nested === 'object' && !Array.isArray(nested) ? nested : data
  const clean: Clock = {}
  for (const [feed, note] of Object.entries(notes)) {
    if (isFeedId(feed) && Number.isInteger(note) && (note as number) >= -1) clean[feed] = note as number
  }
  return clean
}

interface JoinHandlers {
  /** Each item from the wire, returned as EBT should see it; throwing cuts the peer off. */
  received(data: unknown): unknown
  /** The remote broke the protocol (EBT threw on its input). */
  broke(err: Error): void
  /** The stream ended, either way. */
  ended(): void
  /** Bytes the connection has written to its socket so far. */
  bytesOut(): number
  /** Sending goes on after a pause: the socket caught up. */
  resumed(): void
}

/**
 * An EBT push-stream as a pull-stream duplex for muxrpc. Reading from the wire waits while the
 * EBT stream is paused (until the peer's saved clock is loaded: notes before that would be
 * misread). Writes from EBT pause once SEND_WINDOW bytes (as JSON) are handed to muxrpc but
 * not yet written to the socket, and go on when the socket has caught up by half.
 */
function joinPushStream(stream: EbtStream, handlers: JoinHandlers): { duplex: Duplex<unknown, unknown>; readonly paused: boolean } {
  const outbox: unknown[] = []
  let outEnded: End = null
  let waiting: SourceCallback<unknown> | null = null
  let finished = false
  let poll: NodeJS.Timeout | null = null
  const finish = () => {
    if (finished) return
    finished = true
    if (poll) clearTimeout(poll)
    handlers.ended()
  }

  // Bytes handed over, on the socket's count (so its total when we started counts as handed).
  let handed = handlers.bytesOut()
  const backlog = () => handed - handlers.bytesOut()
  const check = () => {
    poll = null
    if (outEnded) return
    if (backlog() > SEND_WINDOW / 2) {
      poll = setTimeout(check, SEND_POLL_MS)
      poll.unref()
      return
    }
    sinkAdapter.paused = false
    handlers.resumed()
    stream.resume()
  }

  const sinkAdapter: PushSink = {
    paused: false,
    source: null,
    write(data) {
      // Never more than the bytes it becomes on the wire (framing and encryption add to them),
      // and caught up with the socket's count whenever that overtakes it: so the estimate can
      // lag behind the wire, but never stall a sender whose socket has written everything.
      handed = Math.max(handed, handlers.bytesOut()) + JSON.stringify(data).length
      if (waiting) {
        const cb = waiting
        waiting = null
        cb(null, data)
      } else outbox.push(data)
      if (!sinkAdapter.paused && backlog() > SEND_WINDOW) {
        sinkAdapter.paused = true
        poll = setTimeout(check, SEND_POLL_MS)
        poll.unref()
      }
    },
    end(err) {
      if (outEnded) return
      sinkAdapter.ended = true
      outEnded = err instanceof Error ? err : err ? new Error(messageOf((err as { message?: unknown }).message ?? err)) : true
      finish()
      if (waiting && outbox.length === 0) {
        const cb = waiting
        waiting = null
        cb(outEnded)
      }
    },
  }
  stream.pipe(sinkAdapter)

  const source: Source<unknown> = (abort, cb) => {
    if (abort) {
      outbox.length = 0
      if (!stream.ended) stream.abort(abort === true ? undefined : abort)
      finish()
      cb(abort)
      return
    }
    if (outbox.length > 0) cb(null, outbox.shift())
    else if (outEnded) cb(outEnded)
    else waiting = cb
  }

  const sink = (read: Source<unknown>) => {
    let reading = false
    let done = false
    const sourceAdapter: PushSource = {
      resume: more,
      abort(err) {
        if (done) return
        done = true
        sourceAdapter.ended = true
        if (!reading) read(err instanceof Error ? err : true, () => {})
      },
    }
    stream.source = sourceAdapter
    function deliver(data: unknown): void {
      try {
        stream.write(handlers.received(data))
      } catch (err) {
        done = true
        sourceAdapter.ended = true
        read(true, () => {})
        handlers.broke(err instanceof Error ? err : new Error(String(err)))
      }
    }
    function more(): void {
      while (!reading && !done && !stream.paused && !stream.ended) {
        reading = true
        let sync = true
        let answeredSync = false
        read(null, (end, data) => {
          reading = false
          if (done) {
            if (!end) read(true, () => {})
            return
          }
          if (end) {
            done = true
            sourceAdapter.ended = true
            if (!stream.ended) stream.end(end === true ? undefined : end)
            finish()
            return
          }
          deliver(data)
          if (sync) answeredSync = true
          else more()
        })
        sync = false
        if (!answeredSync) return
      }
    }
    more()
  }
  return {
    duplex: { source, sink },
    get paused() {
      return sinkAdapter.paused
    },
  }
}
