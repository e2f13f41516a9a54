import type { IndexDefinition } from './definition.ts'
import { feedBytes, orderValue, publicContent } from './content.ts'

/** Key families of the contacts index. */
export const OUTGOING = 0x00
export const INCOMING = 0x01
/** Edge states, the value's first byte. */
export const FOLLOWING = 1
export const BLOCKING = 2

/**
 * The public follow graph, both ways:
 *   0x00 ‖ from(32) ‖ to(32) → state ‖ sortTime ‖ offset   (whom `from` follows or blocks)
 *   0x01 ‖ to(32) ‖ from(32) → state ‖ sortTime ‖ offset   (who follows or blocks `to`)
 * As in ssb-friends, the latest contact message from one feed about another decides the edge:
 * `blocking` (or `flagged`) true blocks, else `following: true` follows, and anything else
 * (`following: false`, `blocking: false`) leaves no edge. Later messages overwrite earlier ones
 * because a feed's messages are indexed in sequence order. The value points at the message that
 * set the edge, so "new followers" can show it.
 */
export const contactsIndex: IndexDefinition = {
  name: 'contacts',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null || content.type !== 'contact') return
    const to = feedBytes(content.contact)
    const from = feedBytes(message.value.author)
    if (!to || !from) return
    const outgoing = Buffer.allocUnsafe(65)
    outgoing[0] = OUTGOING
    from.copy(outgoing, 1)
    to.copy(outgoing, 33)
    const incoming = Buffer.allocUnsafe(65)
    incoming[0] = INCOMING
    to.copy(incoming, 1)
    from.copy(incoming, 33)
    const state = content.blocking === true || content.flagged === true ? BLOCKING : content.following === true ? FOLLOWING : 0
    if (state === 0) {
      writer.del(outgoing)
      writer.del(incoming)
      return
    }
    const value = orderValue(message, state)
    writer.put(outgoing, value)
    writer.put(incoming, value)
  },
}
