// The peer's status as the UI shows it: the Peer's own status snapshot (connections, traffic,
// replication rates) with names added, plus the store's index rebuild progress.
import type { FeedId } from '@hearsay/keys'
import type { StatusView } from '@hearsay/client-api'
import type { Peer, PeerEvent } from '@hearsay/network'
import type { IndexProgress } from '@hearsay/store'

/** Peer events after which the status may look different. */
const CHANGES: ReadonlySet<PeerEvent['event']> = new Set(['connected', 'disconnected', 'replicated', 'wanted'])

export class StatusTracker {
  private peer: Peer | null = null
  private unlisten: (() => void) | null = null
  private indexing = { active: false, progress: 1 }
  private readonly listeners = new Set<() => void>()

  /** Follows `peer` (again after a restart with a new identity). */
  track(peer: Peer): void {
    this.unlisten?.()
    this.peer = peer
    const listener = (event: PeerEvent) => {
      if (CHANGES.has(event.event)) this.changed()
    }
    peer.on('event', listener)
    this.unlisten = () => peer.off('event', listener)
    this.changed()
  }

  /** Fed the store's rebuild progress. */
  indexProgress(progress: IndexProgress): void {
    const done = progress.total === 0 ? 1 : progress.done / progress.total
    this.indexing = { active: done < 1, progress: done }
    this.changed()
  }

  /** Called whenever anything shown may have changed; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The status now; names are looked up by `nameOf`. */
  async view(nameOf: (feeds: FeedId[]) => Promise<Record<FeedId, { name: string | null }>>): Promise<StatusView> {
    const status = this.peer?.status()
    // Our own key's connections (the owner's tools) are not peers.
    const connected = (status?.peers ?? []).filter((peer) => peer.id !== status?.id)
    const names = await nameOf(connected.map((peer) => peer.id))
    return {
      peers: connected.map((peer) => ({
        id: peer.id,
        name: names[peer.id]?.name ?? null,
        address: peer.address,
        kind: peer.kind,
        inbound: peer.inbound,
        messagesReceived: peer.messagesReceived,
        bytesIn: peer.bytesIn,
        bytesOut: peer.bytesOut,
        connectedAt: peer.connectedAt,
      })),
      replication: { wantedFeeds: status?.replication.wantedFeeds ?? 0, messagesPerSecond: status?.replication.messagesPerSecond ?? 0 },
      indexing: { ...this.indexing },
    }
  }

  close(): void {
    this.unlisten?.()
    this.unlisten = null
    this.listeners.clear()
  }

  private changed(): void {
    for (const listener of this.listeners) listener()
  }
}

/**
 * Calls `emit` now and then whenever `subscribe` reports a change, at most once per `interval`
 * ms (a burst of changes becomes one emission at the end of the interval).
 */
export function throttled(interval: number, subscribe: (onChange: () => void) => () => void, emit: () => void): () => void {
  let last = 0
  let timer: NodeJS.Timeout | null = null
  const fire = () => {
    timer = null
    last = Date.now()
    emit()
  }
  const unsubscribe = subscribe(() => {
    if (timer) return
    timer = setTimeout(fire, Math.max(0, last + interval - Date.now()))
  })
  fire()
  return () => {
    unsubscribe()
    if (timer) clearTimeout(timer)
  }
}
