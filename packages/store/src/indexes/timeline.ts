import type { IndexDefinition } from './definition.ts'
import { feedBytes, publicContent, writeOrder, ORDER_BYTES } from './content.ts'

/** Bytes of the author's public key a timeline entry keeps: enough to rule out all but the author. */
export const TIMELINE_AUTHOR_BYTES = 8

/**
 * sortTime ‖ offset → the first 8 bytes of the author's key: every public post (roots and
 * replies) in one time line, the same entries as the posts index in the other order. The home
 * feed walks it newest first, keeping the posts of the feeds it shows, instead of merging one
 * iterator per followed feed. The value only narrows: readers check the message's full author.
 */
export const timelineIndex: IndexDefinition = {
  name: 'timeline',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null || content.type !== 'post') return
    const author = feedBytes(message.value.author)
    if (!author) return
    const key = Buffer.allocUnsafe(ORDER_BYTES)
    writeOrder(key, 0, message)
    writer.put(key, author.subarray(0, TIMELINE_AUTHOR_BYTES))
  },
}
