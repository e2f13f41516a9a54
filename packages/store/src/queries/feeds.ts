import { feedPublicKey, type FeedId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { TIMELINE_AUTHOR_BYTES } from '../indexes/timeline.ts'
import { pageOfIndex, encodeCursor, pageSize, type Page, type PageOptions } from './page.ts'
import { decodeOrderCursor, newestAcross, offsetOfOrder, orderOf } from './merge.ts'
import { contactsOf } from './contacts.ts'

/** The authors whose posts `me`'s home feed shows: whom `me` follows, and `me`, less blocks. */
export async function homeAuthors(store: Store, me: FeedId): Promise<Set<FeedId>> {
  const { following, blocking } = await contactsOf(store, me)
  const authors = new Set<FeedId>([me, ...following])
  for (const feed of blocking) authors.delete(feed)
  return authors
}

/**
 * Timeline entries the home feed reads before it gives up on the time line and merges the
 * authors' own post lists instead: a feed that follows few or quiet authors would otherwise
 * walk most of the store's posts to fill a page. A few milliseconds' worth.
 */
export const HOME_SCAN_BUDGET = 2000

/**
 * Public posts, roots and replies, by the feeds `me` follows and by `me`, newest first (by
 * sortTime, then receive order). Blocked feeds never show, even if a follow preceded the block.
 * The follow list is read when the page is asked for, so a cursor stays valid across follows.
 */
export async function homeFeed(store: Store, me: FeedId, options: PageOptions = {}): Promise<Page> {
  return homeFeedPage(store, me, options, HOME_SCAN_BUDGET)
}

/**
 * `homeFeed`, walking at most `scanBudget` entries of the time line of all posts (newest first,
 * keeping those whose author is shown) before finishing the page with a merge of the shown
 * authors' post lists from where the walk stopped. Both read the same entries in the same
 * order, so where the switch happens changes nothing but the time taken. Exported for tests.
 */
export async function homeFeedPage(store: Store, me: FeedId, options: PageOptions, scanBudget: number): Promise<Page> {
  const limit = pageSize(options)
  const before = decodeOrderCursor(options.cursor)
  const authors = await homeAuthors(store, me)
  const shown = new Set<string>()
  for (const feed of authors) shown.add(feedPublicKey(feed).toString('latin1', 0, TIMELINE_AUTHOR_BYTES))
  // Order keys of the page, newest first; one more than a page tells that more are left.
  let orders: Buffer[] = []
  let more = false
  let scanned = 0
  let resumeBefore = before
  let walkedToEnd = true
  const range = before ? { lt: before, reverse: true } : { reverse: true }
  for await (const [order, author] of store.indexReader('timeline').entries(range)) {
    if (scanned === scanBudget) {
      walkedToEnd = false
      break
    }
    scanned++
    resumeBefore = order
    if (!shown.has(author.toString('latin1'))) continue
    if (orders.length === limit) {
      more = true
      break
    }
    orders.push(order)
  }
  if (!walkedToEnd) {
    const merged = await newestAcross(store.indexReader('posts'), [...authors].map((feed) => feedPublicKey(feed)), limit - orders.length, resumeBefore)
    orders = orders.concat(merged.keys.map((key) => Buffer.from(orderOf(key))))
    more = merged.more
  }
  const items = await store.getByOffsets(orders.map(offsetOfOrder))
  // The time line keeps only the start of each author's key: a post by someone else who shares
  // it (made on purpose; by chance it takes 2^64 keys) must not show, so the page is made again
  // from the authors' own post lists, which are exact.
  if (items.some((message) => !authors.has(message.value.author))) return homeFeedPage(store, me, options, 0)
  return more && orders.length > 0 ? { items, cursor: encodeCursor(orders.at(-1)!) } : { items }
}

/** One feed's public posts, roots and replies, newest first. */
export function profilePosts(store: Store, feed: FeedId, options: PageOptions = {}): Promise<Page> {
  return pageOfIndex(store, store.indexReader('posts'), feedPublicKey(feed), options)
}
