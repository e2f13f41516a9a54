import type { IndexDefinition } from './definition.ts'
import { EMPTY, feedBytes, mentionedFeeds, orderedKey, publicContent } from './content.ts'

/** feed(32) ‖ sortTime ‖ offset: public messages mentioning a feed (in `mentions` or in text). */
export const mentionsIndex: IndexDefinition = {
  name: 'mentions',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null) return
    for (const feed of mentionedFeeds(content)) {
      const bytes = feedBytes(feed)
      if (bytes) writer.put(orderedKey(bytes, message), EMPTY)
    }
  },
}
