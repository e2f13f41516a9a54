// Fork protection after a restore. A restored identity that published before it had its own
// feed back would sign a second message at a sequence its old device already used: a fork, which
// the network answers by no longer replicating the feed. So after a restore, publishing waits
// until a connected peer has said how far our feed goes and our store holds that much, or until
// the person confirms there is no earlier message. The pending state is kept in the store's local
// state, so a restart does not lift it.
import { ApiError, type RestoreView } from '@hearsay/client-api'
import type { FeedId } from '@hearsay/keys'
import type { Peer, PeerConnection, PeerEvent } from '@hearsay/network'
import type { Store } from '@hearsay/store'

interface PendingRestore {
  since: number
  peersAsked: number
  latestOnPeers: number | null
}

const STATE = 'restore'
/** Messages of our feed stored at a time while fetching it back. */
const APPEND_BATCH = 100

/** Keeps `feed` from publishing until its restore settles; the guard of its next session reads this. */
export async function markRestorePending(store: Store, feed: FeedId): Promise<void> {
  const pending: PendingRestore = { since: Date.now(), peersAsked: 0, latestOnPeers: null }
  await store.localState<PendingRestore>(STATE).put(feed, pending)
}

export function restorePendingError(): ApiError {
  return new ApiError({
    name: 'RestorePendingError',
    code: 'EAPI_RESTORE_PENDING',
    message: 'this identity was just restored: publishing waits until your feed has been fetched from a peer, or until you confirm it has no earlier messages, so it never forks',
  })
}

type HistorySource = (abort: boolean | Error | null, cb: (end: boolean | Error | null, value?: unknown) => void) => void

export class RestoreGuard {
  private pending: PendingRestore | null
  private readonly listeners = new Set<() => void>()
  private readonly asked = new WeakSet<PeerConnection>()
  private readonly cleanups: Array<() => void> = []
  private closed = false
  private peer: Peer | null = null

  private constructor(
    private readonly store: Store,
    private readonly me: FeedId,
    pending: PendingRestore | undefined,
  ) {
    this.pending = pending ?? null
  }

  static async open(store: Store, me: FeedId): Promise<RestoreGuard> {
    return new RestoreGuard(store, me, await store.localState<PendingRestore>(STATE).get(me))
  }

  get isPending(): boolean {
    return this.pending !== null
  }

  assertMayPublish(): void {
    if (this.pending) throw restorePendingError()
  }

  /** `store` with `publish` refused while a restore is pending; everything else passes through. */
  guard(store: Store): Store {
    const publish: Store['publish'] = async (identity, content) => {
      this.assertMayPublish()
      return store.publish(identity, content)
    }
    const bound = new Map<PropertyKey, unknown>()
    return new Proxy(store, {
      get(target, property) {
        if (property === 'publish') return publish
        const value: unknown = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        let method = bound.get(property)
        if (!method) bound.set(property, (method = (value as (...args: unknown[]) => unknown).bind(target)))
        return method
      },
    })
  }

  /** Restores `me` again on this running session (the identity did not change). */
  async begin(): Promise<void> {
    await markRestorePending(this.store, this.me)
    this.pending = (await this.store.localState<PendingRestore>(STATE).get(this.me)) ?? null
    this.changed()
    this.askConnected()
  }

  private askConnected(): void {
    if (!this.pending || !this.peer) return
    for (const connection of this.peer.connections) if (!connection.local) this.askQuietly(connection)
  }

  /** Asks every peer that connects (and those connected now) how far our feed goes. */
  watch(peer: Peer): void {
    const onEvent = (event: PeerEvent) => {
      if (event.event !== 'connected' || !this.pending) return
      const connection = peer.connections.find((open) => open.id === event.peer && !open.local)
      if (connection) this.askQuietly(connection)
    }
    peer.on('event', onEvent)
    this.cleanups.push(() => peer.off('event', onEvent))
    this.cleanups.push(this.store.subscribe((message) => {
      if (this.pending && message.value.author === this.me) this.settle().catch(() => undefined)
    }))
    this.peer = peer
    this.askConnected()
  }

  async view(): Promise<RestoreView> {
    const sequence = (await this.store.feedStatus(this.me))?.sequence ?? 0
    const { pending } = this
    return { pending: pending !== null, sequence, peersAsked: pending?.peersAsked ?? 0, latestOnPeers: pending?.latestOnPeers ?? null }
  }

  async confirmNoEarlierMessages(): Promise<void> {
    if (!this.pending) return
    await this.finish()
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.closed = true
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    this.listeners.clear()
  }

  /** A failure (the store closing with the session) leaves the restore pending, which is safe. */
  private askQuietly(connection: PeerConnection): void {
    this.ask(connection).catch(() => undefined)
  }

  /**
   * Reads the peer's copy of our feed from our latest message on (non-live) and stores it (the
   * store verifies every message). A peer that sends our latest message back, or later ones,
   * holds our feed: its last sequence is how far we must get before publishing. A peer that sends
   * nothing may just not replicate us, so it proves nothing. Fetched here rather than left to
   * replication, which need not ask for our own feed at all.
   */
  private async ask(connection: PeerConnection): Promise<void> {
    if (this.asked.has(connection) || this.closed) return
    this.asked.add(connection)
    const createHistoryStream = connection.rpc.createHistoryStream as ((options: object) => HistorySource) | undefined
    if (typeof createHistoryStream !== 'function') return
    const ours = (await this.store.feedStatus(this.me))?.sequence ?? 0
    let latest: number | null = null
    const batch: unknown[] = []
    const flush = async () => {
      if (batch.length === 0) return
      const result = await this.store.append(this.me, batch.splice(0))
      // A peer that sends what the store refuses (forged, out of order) is not believed at all.
      if (result.rejected || result.forked) throw result.rejected?.error ?? new Error('our feed forked on this peer')
    }
    try {
      const source = createHistoryStream({ id: this.me, seq: Math.max(1, ours), live: false, keys: false })
      for (;;) {
        const value = await new Promise<unknown>((resolve, reject) =>
          source(null, (end, item) => (end === true ? resolve(undefined) : end ? reject(end) : resolve(item ?? null))),
        )
        if (value === undefined || this.closed) break
        const { author, sequence } = (value ?? {}) as { author?: unknown; sequence?: unknown }
        if (author !== this.me || typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) continue
        latest = Math.max(latest ?? 0, sequence)
        batch.push(value)
        if (batch.length >= APPEND_BATCH) await flush()
      }
      await flush()
    } catch {
      return // the connection went, or it sent something the store refused; the next peer is asked
    }
    if (!this.pending || this.closed) return
    const pending = this.pending
    pending.peersAsked++
    if (latest !== null) pending.latestOnPeers = Math.max(pending.latestOnPeers ?? 0, latest)
    await this.store.localState<PendingRestore>(STATE).put(this.me, pending)
    this.changed()
    await this.settle()
  }

  /** Lifts the guard once our store holds our feed as far as a peer said it goes. */
  private async settle(): Promise<void> {
    const latest = this.pending?.latestOnPeers
    if (latest === null || latest === undefined) return
    const ours = (await this.store.feedStatus(this.me))?.sequence ?? 0
    if (ours >= latest && this.pending) await this.finish()
  }

  private async finish(): Promise<void> {
    this.pending = null
    await this.store.localState(STATE).del(this.me)
    this.changed()
  }

  private changed(): void {
    for (const listener of this.listeners) listener()
  }
}
