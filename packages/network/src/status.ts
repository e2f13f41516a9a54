import type { Source } from 'pull-stream'
import type { FeedId } from '@hearsay/keys'
import type { Store } from '@hearsay/store'
import type { ConnectionKind, ManagedConnection } from './connections.ts'
import type { PeerEvent } from './events.ts'
import { pushable } from './pull.ts'
import type { Traffic } from './traffic.ts'

/** One connected peer, as `status` shows it. */
export interface ConnectedPeerStatus {
  id: FeedId
  address: string
  kind: ConnectionKind
  inbound: boolean
  /** Milliseconds since the epoch. */
  connectedAt: number
  /** Messages we stored from it over this connection. */
  messagesReceived: number
  /** Bytes on the wire over this connection (box-stream level), each way. */
  bytesIn: number
  bytesOut: number
}

/** A feed some peer holds further than we do. */
export interface FeedProgress {
  feed: FeedId
  /** The latest sequence we hold (0: none), null while still being read. */
  have: number | null
  /** The highest sequence a connected peer has claimed or sent. */
  claimed: number
}

/** A snapshot of the running peer: `peer.status()`, and muxrpc `status`. */
export interface PeerStatus {
  id: FeedId
  address: string | null
  /** When it was taken, ms since the epoch. */
  time: number
  peers: ConnectedPeerStatus[]
  /** Peers remembered to redial. */
  remembered: number
  replication: {
    /** Feeds we replicate: us, follows within the configured hops, minus blocks. */
    wantedFeeds: number
    /** Wanted feeds a connected peer claims to hold further than we do. */
    feedsBehind: number
    /** Those feeds, most behind first (at most MAX_LISTED_BEHIND). */
    behind: FeedProgress[]
    /** Messages stored from peers since the peer started, and per second lately. */
    messagesReceived: number
    messagesPerSecond: number
  }
  traffic: {
    bytesIn: number
    bytesOut: number
    bytesInPerSecond: number
    bytesOutPerSecond: number
  }
}

/** What the tracker reads from the running peer. */
export interface StatusSources<C extends ManagedConnection & { traffic: Traffic; connectedAt: number }> {
  id: FeedId
  address(): string | null
  /** Open connections with other peers (local clients excluded). */
  connections(): readonly C[]
  kindOf(connection: C): ConnectionKind
  wantedFeeds(): ReadonlySet<FeedId>
  rememberedCount(): number
  /** Calls back whenever connections or remembered peers change; returns its remover. */
  onChange(listener: () => void): () => void
}

export const MAX_LISTED_BEHIND = 50
/** Rates are averaged over this long. */
const RATE_WINDOW = 5_000
const SAMPLE_INTERVAL = 1_000

interface Totals {
  time: number
  messages: number
  bytesIn: number
  bytesOut: number
}

/**
 * Keeps the figures `status` reports, from the peer's events (messages replicated), its
 * connections (bytes counted at the transport) and claims peers make about feeds.
 */
export class StatusTracker<C extends ManagedConnection & { traffic: Traffic; connectedAt: number }> {
  private readonly sources: StatusSources<C>
  private readonly store: Store
  private readonly received = new WeakMap<C, number>()
  /** Connections seen, to add their bytes to `closedTraffic` once they are gone. */
  private readonly seen = new Set<C>()
  private readonly closedTraffic = { bytesIn: 0, bytesOut: 0 }
  private readonly progress = new Map<FeedId, { have: number | null; claimed: number }>()
  private readonly samples: Totals[] = []
  private messages = 0
  private sampler: NodeJS.Timeout | null = null
  private unsubscribe: (() => void) | null = null

  constructor(sources: StatusSources<C>, store: Store) {
    this.sources = sources
    this.store = store
  }

  start(): void {
    this.samples.push(this.totals())
    this.sampler = setInterval(() => {
      this.samples.push(this.totals())
      while (this.samples.length > 1 && this.samples[0]!.time < Date.now() - RATE_WINDOW) this.samples.shift()
    }, SAMPLE_INTERVAL)
    this.sampler.unref()
    this.unsubscribe = this.store.subscribe((message) => {
      const entry = this.progress.get(message.value.author)
      if (entry) entry.have = Math.max(entry.have ?? 0, message.value.sequence)
    })
  }

  stop(): void {
    if (this.sampler) clearInterval(this.sampler)
    this.sampler = null
    this.unsubscribe?.()
    this.unsubscribe = null
  }

  /** Takes in what the peer reports: messages stored from a peer count for it and for the rates. */
  observe(event: PeerEvent): void {
    if (event.event !== 'replicated') return
    this.messages += event.accepted
    const connection = this.sources.connections().findLast((candidate) => candidate.id === event.peer)
    if (connection) this.received.set(connection, (this.received.get(connection) ?? 0) + event.accepted)
    if (event.sequence !== null) this.claim(event.feed, event.sequence)
  }

  /** A peer holds `feed` up to `sequence` (EBT notes say so; so does a message it sent). */
  claim(feed: FeedId, sequence: number): void {
    let entry = this.progress.get(feed)
    if (!entry) {
      entry = { have: null, claimed: 0 }
      this.progress.set(feed, entry)
      const fresh = entry
      this.store.feedStatus(feed).then(
        (status) => {
          fresh.have = Math.max(fresh.have ?? 0, status?.sequence ?? 0)
        },
        () => undefined, // the store closed: the figure is moot
      )
    }
    entry.claimed = Math.max(entry.claimed, sequence)
  }

  snapshot(): PeerStatus {
    const now = this.totals()
    const oldest = this.samples[0] ?? now
    const seconds = (now.time - oldest.time) / 1000
    const rate = (a: number, b: number) => (seconds > 0 ? Math.round(((a - b) / seconds) * 10) / 10 : 0)
    const wanted = this.sources.wantedFeeds()
    const behind: FeedProgress[] = []
    for (const [feed, { have, claimed }] of this.progress) {
      if (!wanted.has(feed)) this.progress.delete(feed)
      else if (have === null || claimed > have) behind.push({ feed, have, claimed })
    }
    behind.sort((a, b) => b.claimed - (b.have ?? 0) - (a.claimed - (a.have ?? 0)))
    return {
      id: this.sources.id,
      address: this.sources.address(),
      time: now.time,
      peers: this.sources.connections().map((connection) => ({
        id: connection.id,
        address: connection.address,
        kind: this.sources.kindOf(connection),
        inbound: connection.inbound,
        connectedAt: connection.connectedAt,
        messagesReceived: this.received.get(connection) ?? 0,
        bytesIn: connection.traffic.bytesIn,
        bytesOut: connection.traffic.bytesOut,
      })),
      remembered: this.sources.rememberedCount(),
      replication: {
        wantedFeeds: wanted.size,
        feedsBehind: behind.length,
        behind: behind.slice(0, MAX_LISTED_BEHIND),
        messagesReceived: now.messages,
        messagesPerSecond: rate(now.messages, oldest.messages),
      },
      traffic: {
        bytesIn: now.bytesIn,
        bytesOut: now.bytesOut,
        bytesInPerSecond: rate(now.bytesIn, oldest.bytesIn),
        bytesOutPerSecond: rate(now.bytesOut, oldest.bytesOut),
      },
    }
  }

  /**
   * The status as a live source: a snapshot at once, then another whenever connections change
   * or, checked every `interval` ms, any figure did.
   */
  stream(interval = SAMPLE_INTERVAL): Source<PeerStatus> {
    let last = ''
    let pending = false
    const emit = () => {
      pending = false
      const snapshot = this.snapshot()
      const { time: _time, ...figures } = snapshot
      const text = JSON.stringify(figures)
      if (text === last) return
      last = text
      out.push(snapshot)
    }
    const timer = setInterval(emit, interval)
    timer.unref()
    const removeListener = this.sources.onChange(() => {
      if (pending) return
      pending = true
      setImmediate(emit)
    })
    const out = pushable<PeerStatus>(() => {
      clearInterval(timer)
      removeListener()
    })
    emit()
    return out.source
  }

  /** Messages and bytes so far, closed connections' included. */
  private totals(): Totals {
    const open = new Set(this.sources.connections())
    let bytesIn = this.closedTraffic.bytesIn
    let bytesOut = this.closedTraffic.bytesOut
    for (const connection of this.seen) {
      if (open.has(connection)) continue
      this.closedTraffic.bytesIn += connection.traffic.bytesIn
      this.closedTraffic.bytesOut += connection.traffic.bytesOut
      bytesIn += connection.traffic.bytesIn
      bytesOut += connection.traffic.bytesOut
      this.seen.delete(connection)
    }
    for (const connection of open) {
      this.seen.add(connection)
      bytesIn += connection.traffic.bytesIn
      bytesOut += connection.traffic.bytesOut
    }
    return { time: Date.now(), messages: this.messages, bytesIn, bytesOut }
  }
}
