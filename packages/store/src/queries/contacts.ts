import { feedPublicKey, toFeedId, type FeedId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { BLOCKING, FOLLOWING, INCOMING, OUTGOING } from '../indexes/contacts.ts'
import { entriesUnder, mapConcurrent } from './merge.ts'

// Queries over the public follow graph (see contactsIndex for how contact messages become
// edges). Feed ids are validated: an invalid one throws InvalidRefError.

/** Whom `feed` follows and blocks, now. */
export interface Contacts {
  following: Set<FeedId>
  blocking: Set<FeedId>
}

async function edges(store: Store, family: number, feed: FeedId, state: number): Promise<FeedId[]> {
  const prefix = Buffer.concat([Buffer.of(family), feedPublicKey(feed)])
  const entries = await entriesUnder(store.indexReader('contacts'), prefix)
  return entries.filter(([, value]) => value[0] === state).map(([key]) => toFeedId(key.subarray(33, 65)))
}

/** The feeds `feed` follows. */
export function following(store: Store, feed: FeedId): Promise<FeedId[]> {
  return edges(store, OUTGOING, feed, FOLLOWING)
}

/** The feeds that follow `feed`. */
export function followers(store: Store, feed: FeedId): Promise<FeedId[]> {
  return edges(store, INCOMING, feed, FOLLOWING)
}

/** The feeds `feed` blocks. */
export function blocked(store: Store, feed: FeedId): Promise<FeedId[]> {
  return edges(store, OUTGOING, feed, BLOCKING)
}

/** The feeds that block `feed`. */
export function blockers(store: Store, feed: FeedId): Promise<FeedId[]> {
  return edges(store, INCOMING, feed, BLOCKING)
}

/** Whom `feed` follows and blocks, in one read. */
export async function contactsOf(store: Store, feed: FeedId): Promise<Contacts> {
  const prefix = Buffer.concat([Buffer.of(OUTGOING), feedPublicKey(feed)])
  const result: Contacts = { following: new Set(), blocking: new Set() }
  for (const [key, value] of await entriesUnder(store.indexReader('contacts'), prefix)) {
    const other = toFeedId(key.subarray(33, 65))
    if (value[0] === FOLLOWING) result.following.add(other)
    else if (value[0] === BLOCKING) result.blocking.add(other)
  }
  return result
}

async function edgeState(store: Store, from: FeedId, to: FeedId): Promise<number> {
  const key = Buffer.concat([Buffer.of(OUTGOING), feedPublicKey(from), feedPublicKey(to)])
  const value = await store.indexReader('contacts').get(key)
  return value?.[0] ?? 0
}

/** Whether `a` currently follows `b`. */
export async function isFollowing(store: Store, a: FeedId, b: FeedId): Promise<boolean> {
  return (await edgeState(store, a, b)) === FOLLOWING
}

/** Whether `a` currently blocks `b`. */
export async function isBlocking(store: Store, a: FeedId, b: FeedId): Promise<boolean> {
  return (await edgeState(store, a, b)) === BLOCKING
}

/**
 * Follow distances from `me`: `me` at 0, whom `me` follows at 1, whom they follow at 2, … up to
 * `maxHops` (default 2), by breadth-first search over public follows. Feeds `me` blocks are
 * left out, and are not walked through either. What replication should fetch.
 */
export async function hops(store: Store, me: FeedId, maxHops = 2): Promise<Map<FeedId, number>> {
  if (!Number.isInteger(maxHops) || maxHops < 0) throw new RangeError(`maxHops must be a non-negative integer, not ${maxHops}`)
  const distances = new Map<FeedId, number>([[me, 0]])
  if (maxHops === 0) return distances
  const mine = await contactsOf(store, me)
  let frontier: FeedId[] = []
  for (const feed of mine.following) {
    if (mine.blocking.has(feed) || distances.has(feed)) continue
    distances.set(feed, 1)
    frontier.push(feed)
  }
  for (let hop = 2; hop <= maxHops && frontier.length > 0; hop++) {
    const next: FeedId[] = []
    const lists = await mapConcurrent(frontier, 16, (feed) => following(store, feed))
    for (const list of lists) {
      for (const feed of list) {
        if (distances.has(feed) || mine.blocking.has(feed)) continue
        distances.set(feed, hop)
        next.push(feed)
      }
    }
    frontier = next
  }
  return distances
}
