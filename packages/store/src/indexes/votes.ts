import type { IndexDefinition } from './definition.ts'
import { EMPTY, feedBytes, messageBytes, orderValue, publicContent } from './content.ts'

/**
 *   target(32) ‖ voter(32) → sortTime ‖ offset of the voter's latest like
 *   target(32)             → empty: the target has been liked at some point
 * Each vote overwrites the voter's previous one on that target (a feed's messages are indexed in
 * sequence order), and a vote whose value is not positive (an unvote, or a dislike) deletes it:
 * what is left are exactly the current likes. The bare-target marker is never deleted; it lets
 * notifications find which of many messages have likes with one multi-get instead of a range
 * read each.
 */
export const votesIndex: IndexDefinition = {
  name: 'votes',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null || content.type !== 'vote') return
    const vote = content.vote
    if (typeof vote !== 'object' || vote === null) return
    const target = messageBytes((vote as { link?: unknown }).link)
    const voter = feedBytes(message.value.author)
    if (!target || !voter) return
    const key = Buffer.allocUnsafe(64)
    target.copy(key, 0)
    voter.copy(key, 32)
    const value = Number((vote as { value?: unknown }).value)
    if (value > 0) {
      writer.put(key, orderValue(message))
      writer.put(target, EMPTY)
    } else {
      writer.del(key)
    }
  },
}
