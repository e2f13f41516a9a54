import type { IndexDefinition } from './definition.ts'
import { byTypeIndex } from './by-type.ts'
import { inboxIndex } from './inbox.ts'
import { searchIndex } from './search.ts'
import { postsIndex } from './posts.ts'
import { timelineIndex } from './timeline.ts'
import { threadsIndex } from './threads.ts'
import { backlinksIndex } from './backlinks.ts'
import { votesIndex } from './votes.ts'
import { aboutIndex } from './about.ts'
import { contactsIndex } from './contacts.ts'
import { hashtagsIndex } from './hashtags.ts'
import { mentionsIndex } from './mentions.ts'

/** Every index Hearsay keeps; the store maintains all of them unless told otherwise. */
export function defaultIndexes(): IndexDefinition[] {
  return [
    byTypeIndex, inboxIndex, searchIndex,
    postsIndex, timelineIndex, threadsIndex, backlinksIndex, votesIndex, aboutIndex, contactsIndex, hashtagsIndex, mentionsIndex,
  ]
}
