import type { FeedId } from '@hearsay/keys'

/** What a Peer reports as it runs; `hearsay start` prints these as JSON lines. */
export type PeerEvent =
  | { event: 'listening'; address: string }
  | { event: 'connected'; peer: FeedId; address: string; inbound: boolean; local: boolean }
  | { event: 'disconnected'; peer: FeedId; address: string; reason?: string }
  /** A second connection to a peer we are connected to, dropped for the one both sides keep. */
  | { event: 'duplicate'; peer: FeedId; address: string; inbound: boolean }
  | { event: 'connect-failed'; address: string; reason: string }
  | { event: 'handshake-failed'; address: string; reason: string }
  /** A socket closed on arrival for being over an inbound limit; `refused`: how many so far. */
  | { event: 'refused'; address: string; reason: string; refused: number }
  /** How we replicate with a peer: EBT, or createHistoryStream when it does not speak EBT (`reason`). */
  | { event: 'replicating'; peer: FeedId; method: 'ebt' | 'createHistoryStream'; reason?: string }
  | { event: 'replicated'; peer: FeedId; feed: FeedId; accepted: number; duplicates: number; sequence: number | null }
  | { event: 'cut-off'; peer: FeedId; address: string; reason: string }
  | { event: 'fork'; peer: FeedId; feed: FeedId; sequence: number }
  | { event: 'stream-ended'; peer: FeedId; feed: FeedId; reason: string }
  | { event: 'wanted'; feeds: number }
  /** A peer we connected to is a room: we attend it, and meet its attendants through it. */
  | { event: 'room-joined'; room: FeedId; address: string }
  | { event: 'error'; reason: string; peer?: FeedId; feed?: FeedId }

/** The text an event's `reason` gives for a failure, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
