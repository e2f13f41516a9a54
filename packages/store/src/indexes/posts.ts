import type { IndexDefinition } from './definition.ts'
import { EMPTY, feedBytes, orderedKey, publicContent } from './content.ts'

/**
 * author(32) ‖ sortTime ‖ offset: each feed's public posts (roots and replies) by time. The home
 * feed merges these per followed author; a profile pages through one author's.
 */
export const postsIndex: IndexDefinition = {
  name: 'posts',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null || content.type !== 'post') return
    const author = feedBytes(message.value.author)
    if (author) writer.put(orderedKey(author, message), EMPTY)
  },
}
