import { feedPublicKey, type FeedId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { pageOfIndex, type Page, type PageOptions } from './page.ts'
import { mergedPage } from './merge.ts'
import { contactsOf } from './contacts.ts'

/** The authors whose posts `me`'s home feed shows: whom `me` follows, and `me`, less blocks. */
export async function homeAuthors(store: Store, me: FeedId): Promise<Set<FeedId>> {
  const { following, blocking } = await contactsOf(store, me)
  const authors = new Set<FeedId>([me, ...following])
  for (const feed of blocking) authors.delete(feed)
  return authors
}

/**
 * Public posts, roots and replies, by the feeds `me` follows and by `me`, newest first (by
 * sortTime, then receive order). Blocked feeds never show, even if a follow preceded the block.
 * The follow list is read when the page is asked for, so a cursor stays valid across follows.
 */
export async function homeFeed(store: Store, me: FeedId, options: PageOptions = {}): Promise<Page> {
  const authors = await homeAuthors(store, me)
  return mergedPage(store, store.indexReader('posts'), [...authors].map((feed) => feedPublicKey(feed)), options)
}

/** One feed's public posts, roots and replies, newest first. */
export function profilePosts(store: Store, feed: FeedId, options: PageOptions = {}): Promise<Page> {
  return pageOfIndex(store, store.indexReader('posts'), feedPublicKey(feed), options)
}
