import { isMessageId, messageHash, type MessageId } from '@hearsay/keys'
import { sortTime } from './codec.ts'
import type { IndexDefinition, IndexedMessage } from './definition.ts'

/** `1 ‖ time(6) ‖ offset(6)` → root hash(32): every private message, by time. */
export const INBOX_TIMELINE = 0x01
/** `2 ‖ root hash(32) ‖ time(6) ‖ offset(6)`, empty: the private messages of one conversation. */
export const INBOX_CONVERSATION = 0x02
/** time(6) ‖ offset(6) */
export const INBOX_SUFFIX_BYTES = 12

const EMPTY = new Uint8Array(0)

/**
 * Private messages decrypted for this store's identity, grouped into conversations. A
 * conversation is named by its root: the `root` its messages give, or for a message without
 * one, the message itself. Only private messages are indexed, so public messages never show
 * up in the inbox, and the inbox of a store without an identity is empty.
 */
export const inboxIndex: IndexDefinition = {
  name: 'inbox',
  version: 1,
  index(message, writer) {
    if (!message.private) return
    const root = messageHash(conversationRoot(message))
    const suffix = Buffer.allocUnsafe(INBOX_SUFFIX_BYTES)
    suffix.writeUIntBE(Math.max(0, Math.min(sortTime(message), 2 ** 48 - 1)), 0, 6)
    suffix.writeUIntBE(message.offset, 6, 6)
    writer.put(Buffer.concat([Buffer.from([INBOX_TIMELINE]), suffix]), root)
    writer.put(Buffer.concat([Buffer.from([INBOX_CONVERSATION]), root, suffix]), EMPTY)
  },
}

/** The conversation a message belongs to: its content's `root` (an id or `{link}`), else itself. */
export function conversationRoot(message: IndexedMessage): MessageId {
  const { content } = message.value
  if (typeof content !== 'object' || content === null) return message.key
  const root = linkOf(content.root)
  return root !== undefined && isMessageId(root) ? root : message.key
}

/** A reference as SSB content writes them: the id itself, or `{link: id, …}`. */
export function linkOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (value !== null && typeof value === 'object' && typeof (value as { link?: unknown }).link === 'string') {
    return (value as { link: string }).link
  }
  return undefined
}
