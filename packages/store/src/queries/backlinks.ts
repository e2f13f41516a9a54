import { InvalidRefError, type BlobId, type FeedId, type MessageId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { refBytes } from '../indexes/content.ts'
import { pageOfIndex, type Page, type PageOptions } from './page.ts'

/**
 * Public messages that link to `ref` (a feed, message or blob id) anywhere in their content,
 * newest first. An invalid ref throws InvalidRefError.
 */
export function backlinksOf(store: Store, ref: FeedId | MessageId | BlobId, options: PageOptions = {}): Promise<Page> {
  return pageOfIndex(store, store.indexReader('backlinks'), backlinkPrefix(ref), options)
}

export function backlinkPrefix(ref: string): Buffer {
  const bytes = refBytes(ref)
  if (!bytes) throw new InvalidRefError(`not a feed, message or blob id: ${JSON.stringify(ref.slice(0, 80))}`)
  return Buffer.concat([Buffer.of(ref.charCodeAt(0)), bytes])
}
