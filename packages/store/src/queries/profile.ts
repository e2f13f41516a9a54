import { feedPublicKey, toFeedId, type FeedId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import { DESCRIPTION, IMAGE, NAME } from '../indexes/about.ts'
import { entriesUnder } from './merge.ts'

export interface Profile {
  /** The latest name, image (blob id) and description the feed gave itself, or null. */
  name: string | null
  image: string | null
  description: string | null
  /** The latest name each other feed gave it, in the order of those feeds' ids. */
  namesGivenByOthers: Array<{ name: string; by: FeedId }>
}

/** What public `about` messages say about `feed`. */
export async function profile(store: Store, feed: FeedId): Promise<Profile> {
  const self = feedPublicKey(feed)
  const result: Profile = { name: null, image: null, description: null, namesGivenByOthers: [] }
  for (const [key, value] of await entriesUnder(store.indexReader('about'), self)) {
    const field = key[32]
    const bySelf = key.subarray(33, 65).equals(self)
    const text = value.toString('utf8')
    if (bySelf) {
      if (field === NAME) result.name = text
      else if (field === IMAGE) result.image = text
      else if (field === DESCRIPTION) result.description = text.length > 0 ? text : null
    } else if (field === NAME) {
      result.namesGivenByOthers.push({ name: text, by: toFeedId(key.subarray(33, 65)) })
    }
  }
  return result
}
