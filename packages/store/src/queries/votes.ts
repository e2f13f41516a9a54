import { messageHash, toFeedId, type FeedId, type MessageId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { prefixEnd } from '../indexes/codec.ts'

export interface Votes {
  /** How many feeds currently like the message. */
  count: number
  /** Those feeds, most recent like first. */
  voters: FeedId[]
}

/** The current likes of a message: each feed's latest public vote on it, if its value is > 0. */
export async function votesFor(store: Store, id: MessageId): Promise<Votes> {
  const entries = await votersOf(store, messageHash(id))
  entries.sort(([, a], [, b]) => Buffer.compare(b, a))
  const voters = entries.map(([key]) => toFeedId(key.subarray(32, 64)))
  return { count: voters.length, voters }
}

/** [voter key, sortTime ‖ offset] of the current likes of a message, by its 32-byte hash. */
export async function votersOf(store: Store, target: Buffer): Promise<Array<[Buffer, Buffer]>> {
  const entries: Array<[Buffer, Buffer]> = []
  // `gt` skips the bare-target marker.
  for await (const entry of store.indexReader('votes').entries({ gt: target, lt: prefixEnd(target) })) entries.push(entry)
  return entries
}
