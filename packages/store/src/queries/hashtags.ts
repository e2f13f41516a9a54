import type { Store } from '../types.ts'
import { text } from '../indexes/codec.ts'
import { normalizeTag } from '../indexes/content.ts'
import { pageOfIndex, pageSize, type Page, type PageOptions } from './page.ts'

/**
 * Public messages carrying a channel or hashtag, newest first. `tag` may be given with or
 * without `#`, in any case ("#SSB", "ssb"); a tag that normalizes to nothing gives no messages.
 */
export async function hashtagFeed(store: Store, tag: string, options: PageOptions = {}): Promise<Page> {
  const normal = normalizeTag(tag)
  pageSize(options)
  if (normal === null) return { items: [] }
  return pageOfIndex(store, store.indexReader('hashtags'), text(normal), options)
}
