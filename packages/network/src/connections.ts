import { isFeedId, type FeedId } from '@hearsay/keys'
import type { LocalState } from '@hearsay/store'
import { parsePeerAddress } from './address.ts'
import { messageOf, type PeerEvent } from './events.ts'

/** How we came to know a peer (ssb-conn's `type`). */
export type PeerKind = 'manual' | 'pub' | 'lan' | 'room'
export const PEER_KINDS: readonly PeerKind[] = ['manual', 'pub', 'lan', 'room']
/** A connection's kind: a known peer's, or `inbound` for one that found us by itself. */
export type ConnectionKind = PeerKind | 'inbound'

/** A peer redialled whenever we are not connected to it, as remembered in the store. */
export interface RememberedPeer {
  /** Its canonical `net:HOST:PORT~shs:KEY` (or `tunnel:…`) address: what it is remembered by. */
  address: string
  key: FeedId
  kind: PeerKind
  /** When it was first remembered. */
  birth: number
  /** The last time a dial to it succeeded, null if none has. */
  lastSuccess: number | null
  lastAttempt: number | null
  /** Failed dials since the last success: how far backed off it is. */
  failures: number
}

/** What the manager needs of a live connection. */
export interface ManagedConnection {
  readonly id: FeedId
  readonly address: string
  readonly inbound: boolean
  readonly local: boolean
  close(reason?: string): void
}

export interface ConnectionLimits {
  /** Most peers connected at once (our own key's local clients not counted). Default 8. */
  max?: number
  /** Redial delay after the first failure, doubled per failure up to `maxBackoff` (ms). */
  minBackoff?: number
  maxBackoff?: number
  /** Uniform in [0, 1): the jitter source (tests pass their own). */
  random?: () => number
}

export interface ConnectionManagerOptions<C extends ManagedConnection> extends ConnectionLimits {
  self: FeedId
  /** Where remembered peers are kept (the store's local state `conn`). */
  state: LocalState
  /** Opens a connection to one canonical address (handshake and muxrpc set up). */
  dial(address: string): Promise<C>
  report(event: PeerEvent): void
}

export const DEFAULT_MAX_CONNECTIONS = 8
const DEFAULT_MIN_BACKOFF = 1_000
const DEFAULT_MAX_BACKOFF = 10 * 60_000

/**
 * Keeps us connected to the peers we know, within a bound: remembers them in the store (so a
 * restart redials them), dials those not connected with exponential backoff and jitter, never
 * dials our own key, and keeps exactly one connection per remote key.
 *
 * Two peers that dial each other at once end up with two connections; both sides keep the one
 * dialed by the smaller feed id, so they agree without talking about it.
 */
export class ConnectionManager<C extends ManagedConnection> {
  readonly max: number
  private readonly options: ConnectionManagerOptions<C>
  private readonly minBackoff: number
  private readonly maxBackoff: number
  private readonly random: () => number
  private readonly remembered = new Map<string, RememberedPeer>()
  /** When each remembered address may be dialed again (absent: now). */
  private readonly dueAt = new Map<string, number>()
  private readonly open = new Set<C>()
  private readonly dialing = new Map<FeedId, Promise<C>>()
  /** Kinds given to `connect` for peers that are not remembered, while connected. */
  private readonly dialKinds = new Map<FeedId, PeerKind>()
  /** Keys disconnected on request: not redialled until connected again by request. */
  private readonly held = new Set<FeedId>()
  private readonly listeners = new Set<() => void>()
  private timer: NodeJS.Timeout | null = null
  private writes: Promise<void> = Promise.resolve()
  private started = false
  private stopped = false

  constructor(options: ConnectionManagerOptions<C>) {
    this.options = options
    this.max = positive('max connections', options.max ?? DEFAULT_MAX_CONNECTIONS)
    this.minBackoff = positive('minimum backoff', options.minBackoff ?? DEFAULT_MIN_BACKOFF)
    this.maxBackoff = Math.max(this.minBackoff, positive('maximum backoff', options.maxBackoff ?? DEFAULT_MAX_BACKOFF))
    this.random = options.random ?? Math.random
  }

  /**
   * Loads the remembered peers, remembers `initial` ones too (new ones as `manual` unless they
   * say otherwise) and starts dialing. A stored record that makes no sense is reported and skipped.
   */
  async start(initial: ReadonlyArray<{ address: string; kind?: PeerKind }> = []): Promise<void> {
    if (this.started) throw new Error('the connection manager is already started')
    this.started = true
    for (const [address, value] of await this.options.state.list()) {
      const record = rememberedPeerOf(address, value)
      if (record === null || record.key === this.options.self) {
        this.options.report({ event: 'error', reason: `ignored a remembered peer that makes no sense: ${JSON.stringify(address).slice(0, 200)}` })
        continue
      }
      this.remembered.set(record.address, record)
      if (record.failures > 0) this.dueAt.set(record.address, (record.lastAttempt ?? 0) + this.backoff(record.failures))
    }
    for (const { address, kind } of initial) await this.remember(address, kind)
    this.schedule()
  }

  /** Stops dialing (connections stay open: their owner closes them) and finishes writes to the store. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.listeners.clear()
    await this.writes
  }

  /** Connections open now, one per remote key once duplicates are settled. */
  get connections(): readonly C[] {
    return [...this.open]
  }

  /** The remembered peers, most recently successful first. */
  rememberedPeers(): RememberedPeer[] {
    return [...this.remembered.values()].map((peer) => ({ ...peer })).sort(byPreference)
  }

  /** How `connection`'s peer is known to us. */
  kindOf(connection: ManagedConnection): ConnectionKind {
    for (const peer of this.remembered.values()) if (peer.key === connection.id) return peer.kind
    // A tunnel is a room's doing, whichever attendant opened it.
    return this.dialKinds.get(connection.id) ?? (connection.address.startsWith('tunnel:') ? 'room' : connection.inbound ? 'inbound' : 'manual')
  }

  /** Calls `listener` whenever connections or remembered peers change; returns its remover. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Dials `address` now (ignoring backoff and the bound: it was asked for) unless we are
   * connected or connecting to its key already, in which case that connection is the answer.
   * Refuses our own key.
   */
  connect(address: string, kind?: PeerKind): Promise<C> {
    if (this.stopped) return Promise.reject(new Error('the peer is stopped'))
    let target
    try {
      target = this.target(address)
    } catch (err) {
      return Promise.reject(err)
    }
    this.held.delete(target.key)
    if (kind !== undefined && !this.isRemembered(target.key)) this.dialKinds.set(target.key, kind)
    return this.dial(target.address, target.key)
  }

  /**
   * Closes our connections to `target` (an address or a feed id) and stops redialling that key
   * until it is connected again by request. Returns how many connections were closed.
   */
  disconnect(target: string): number {
    const key = isFeedId(target) ? target : this.target(target).key
    this.held.add(key)
    let closed = 0
    for (const connection of [...this.open]) {
      if (connection.id !== key) continue
      connection.close('disconnected on request')
      closed++
    }
    this.changed()
    return closed
  }

  /**
   * Remembers `address` as a peer to stay connected to (`manual` unless `kind` says otherwise;
   * a known one keeps its kind unless given another), writes it to the store, and dials it when
   * there is room. Refuses our own key.
   */
  async remember(address: string, kind?: PeerKind): Promise<RememberedPeer> {
    if (kind !== undefined && !PEER_KINDS.includes(kind)) throw new RangeError(`a peer's kind is one of ${PEER_KINDS.join(', ')}, not ${JSON.stringify(kind)}`)
    const target = this.target(address)
    const record: RememberedPeer = this.remembered.get(target.address)
      ?? { address: target.address, key: target.key, kind: kind ?? 'manual', birth: Date.now(), lastSuccess: null, lastAttempt: null, failures: 0 }
    if (kind !== undefined) record.kind = kind
    this.remembered.set(target.address, record)
    this.dialKinds.delete(target.key)
    await this.persist(record)
    this.changed()
    this.schedule()
    return { ...record }
  }

  /** Forgets `address` (it stays connected if it is): never redialled, also after a restart. */
  async forget(address: string): Promise<boolean> {
    const canonical = parsePeerAddress(address).address
    const known = this.remembered.delete(canonical)
    this.dueAt.delete(canonical)
    await this.enqueue(() => this.options.state.del(canonical))
    this.changed()
    return known
  }

  /**
   * Whether a peer that has proven its key may connect: our own key always, a key we are
   * connected to already (it may replace that connection), anyone else only below the bound.
   */
  admits(remote: FeedId): boolean {
    if (remote === this.options.self) return true
    if (this.isConnected(remote)) return true
    return this.connectedKeys().size < this.max
  }

  /**
   * Settles a new connection against the ones open to the same key, before it is used. Returns
   * the connection to use instead when the new one loses (the caller drops it); otherwise null,
   * having closed any open connection it replaces. Then the caller reports it with `opened`.
   */
  settle(remote: FeedId, inbound: boolean): C | null {
    if (remote === this.options.self) return null
    const dialer = inbound ? remote : this.options.self
    for (const existing of this.open) {
      if (existing.id !== remote) continue
      const existingDialer = existing.inbound ? remote : this.options.self
      if (existingDialer === dialer) {
        // The side that dialed twice keeps its first; the other side waits for it to choose.
        if (dialer === this.options.self) return existing
        continue
      }
      if (existingDialer < dialer) return existing
      // Out of the set first, so its closing does not look like a loss to redial.
      this.open.delete(existing)
      existing.close('replaced by the connection dialed by the peer with the smaller id')
    }
    return null
  }

  /** A connection is up (after `settle` kept it). */
  opened(connection: C): void {
    if (connection.local) return
    this.open.add(connection)
    this.changed()
  }

  /** A connection is gone: its key may be redialled (after a short wait, so a flapping peer cannot spin us). */
  closed(connection: C): void {
    if (!this.open.delete(connection)) return
    if (!this.isConnected(connection.id)) {
      // A dial to the key still under way keeps the kind it was asked for: the connection it
      // brings would otherwise come up kindless (as `manual`).
      if (!this.dialing.has(connection.id)) this.dialKinds.delete(connection.id)
      for (const peer of this.remembered.values()) {
        if (peer.key === connection.id) this.dueAt.set(peer.address, Math.max(this.dueAt.get(peer.address) ?? 0, Date.now() + this.backoff(1)))
      }
    }
    this.changed()
    this.schedule()
  }

  private target(address: string) {
    const target = parsePeerAddress(address)
    if (target.key === this.options.self) throw new RangeError(`${target.address} is our own address: a peer never dials itself`)
    return target
  }

  private dial(address: string, key: FeedId): Promise<C> {
    const existing = [...this.open].find((connection) => connection.id === key)
    if (existing) return Promise.resolve(existing)
    const pending = this.dialing.get(key)
    if (pending) return pending
    const record = this.remembered.get(address)
    if (record) record.lastAttempt = Date.now()
    const attempt = this.options.dial(address).then(
      (connection) => {
        this.dialing.delete(key)
        this.dialed(address, true)
        return connection
      },
      (err: unknown) => {
        this.dialing.delete(key)
        if (!this.stopped) this.options.report({ event: 'connect-failed', address, reason: messageOf(err) })
        this.dialed(address, false)
        throw err
      },
    )
    this.dialing.set(key, attempt)
    this.changed()
    return attempt
  }

  /** Records how a dial of `address` went, on its remembered record if it has one. */
  private dialed(address: string, success: boolean): void {
    const record = this.remembered.get(address)
    if (record && !this.stopped) {
      if (success) {
        record.failures = 0
        record.lastSuccess = Date.now()
        this.dueAt.delete(address)
      } else {
        record.failures++
        this.dueAt.set(address, Date.now() + this.backoff(record.failures))
      }
      void this.persist(record).catch(() => undefined)
    }
    this.changed()
    this.schedule()
  }

  /** Dials due remembered peers while there is room, and sets the timer for the next one due. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.stopped || !this.started) return
    const busy = this.connectedKeys()
    for (const key of this.dialing.keys()) busy.add(key)
    let room = this.max - busy.size
    if (room <= 0) return
    const now = Date.now()
    let nextDue = Infinity
    for (const peer of [...this.remembered.values()].sort(byPreference)) {
      if (busy.has(peer.key) || this.held.has(peer.key)) continue
      const due = this.dueAt.get(peer.address) ?? 0
      if (due > now) {
        nextDue = Math.min(nextDue, due)
        continue
      }
      if (room <= 0) break
      room--
      busy.add(peer.key)
      this.dial(peer.address, peer.key).catch(() => undefined)
    }
    if (nextDue < Infinity) {
      this.timer = setTimeout(() => this.schedule(), nextDue - now)
      this.timer.unref()
    }
  }

  /** The wait before the next dial after `failures` failures: doubling, capped, jittered ±25%. */
  private backoff(failures: number): number {
    const base = Math.min(this.maxBackoff, this.minBackoff * 2 ** Math.min(failures - 1, 30))
    return Math.round(base * (0.75 + this.random() / 2))
  }

  private connectedKeys(): Set<FeedId> {
    return new Set([...this.open].map((connection) => connection.id))
  }

  private isConnected(key: FeedId): boolean {
    for (const connection of this.open) if (connection.id === key) return true
    return false
  }

  private isRemembered(key: FeedId): boolean {
    for (const peer of this.remembered.values()) if (peer.key === key) return true
    return false
  }

  private persist(record: RememberedPeer): Promise<void> {
    const copy = { ...record }
    return this.enqueue(async () => {
      // Forgotten meanwhile: not written back.
      if (this.remembered.get(copy.address) === record) await this.options.state.put(copy.address, copy)
    })
  }

  /** Store writes happen one at a time, in order; `stop` waits for them. */
  private enqueue(write: () => Promise<void>): Promise<void> {
    const run = this.writes.then(write)
    this.writes = run.catch((err: unknown) => {
      this.options.report({ event: 'error', reason: `could not save the remembered peers: ${messageOf(err)}` })
    })
    return run
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

/** Most recently successful first, then fewest failures, then oldest. */
function byPreference(a: RememberedPeer, b: RememberedPeer): number {
  return (b.lastSuccess ?? 0) - (a.lastSuccess ?? 0) || a.failures - b.failures || a.birth - b.birth
}

/** A stored record, checked field by field: the store is ours, but a bad record must not stop the peer. */
function rememberedPeerOf(address: string, value: unknown): RememberedPeer | null {
  if (value === null || typeof value !== 'object') return null
  const record = value as Partial<Record<keyof RememberedPeer, unknown>>
  let target
  try {
    target = parsePeerAddress(address)
  } catch {
    return null
  }
  const time = (field: unknown) => (field === null || (typeof field === 'number' && Number.isFinite(field)) ? field : undefined)
  const lastSuccess = time(record.lastSuccess ?? null)
  const lastAttempt = time(record.lastAttempt ?? null)
  if (target.address !== address || record.key !== target.key || !PEER_KINDS.includes(record.kind as PeerKind)) return null
  if (lastSuccess === undefined || lastAttempt === undefined) return null
  if (typeof record.birth !== 'number' || !Number.isSafeInteger(record.failures) || (record.failures as number) < 0) return null
  return {
    address, key: target.key, kind: record.kind as PeerKind, birth: record.birth,
    lastSuccess, lastAttempt, failures: record.failures as number,
  }
}

function positive(what: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number, not ${value}`)
  return value
}
