import type { IndexDefinition } from './definition.ts'
import { text } from './codec.ts'
import { EMPTY, hashtagsOf, orderedKey, publicContent } from './content.ts'

/**
 * tag ‖ NUL ‖ sortTime ‖ offset: public messages by channel or hashtag (`content.channel`, `#tag`
 * mentions, `#tags` in text), tags lowercased and without `#` (see normalizeTag).
 */
export const hashtagsIndex: IndexDefinition = {
  name: 'hashtags',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null) return
    for (const tag of hashtagsOf(content)) writer.put(orderedKey(text(tag), message), EMPTY)
  },
}
