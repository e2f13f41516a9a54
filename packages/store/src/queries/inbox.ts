import { isFeedId, isMessageId, messageHash, toMessageId, type FeedId, type MessageId } from '@hearsay/keys'
import type { IndexReader, Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { prefixEnd, readUint48 } from '../indexes/codec.ts'
import { INBOX_CONVERSATION, INBOX_SUFFIX_BYTES, INBOX_TIMELINE, linkOf } from '../indexes/inbox.ts'
import { decodeCursor, encodeCursor, pageSize, type Page, type PageOptions } from './page.ts'

/** One private conversation, as the inbox lists it. */
export interface Conversation {
  /** The message that started it (which we may not hold, or may not be private). */
  root: MessageId
  /** Who its latest message was addressed to (`content.recps`, as feed ids, author included if listed). */
  recps: FeedId[]
  /** Its newest private message, decrypted. */
  latest: IndexedMessage
  /** How many of its private messages we hold. */
  count: number
}

interface Summary {
  /** time ‖ offset of its newest message. */
  last: Buffer
  count: number
}

/**
 * The private conversations addressed to this store's identity, the one with the newest
 * activity first. Empty for a store opened without an identity.
 */
export async function inbox(store: Store, options: PageOptions = {}): Promise<Page<Conversation>> {
  const limit = pageSize(options)
  const after = decodeCursor(options.cursor)
  if (after !== undefined && (after.length !== 1 + INBOX_SUFFIX_BYTES || after[0] !== INBOX_TIMELINE)) {
    throw new RangeError('not a cursor from a previous page')
  }
  const reader = store.indexReader('inbox')
  const start = Buffer.from([INBOX_TIMELINE])
  const found: Array<{ root: Buffer; offset: number; count: number; key: Buffer }> = []
  const summaries = new Map<string, Promise<Summary>>()
  let more = false
  let chunk: Array<[Buffer, Buffer]> = []
  // The timeline lists every private message; a conversation is listed at its newest one.
  // Entries are taken a chunk at a time so that their conversations are summarised in parallel.
  const take = async (): Promise<boolean> => {
    for (const [, root] of chunk) {
      const name = root.toString('latin1')
      if (!summaries.has(name)) summaries.set(name, summarise(reader, root))
    }
    for (const [key, root] of chunk) {
      const summary = await summaries.get(root.toString('latin1'))!
      if (!key.subarray(1).equals(summary.last)) continue
      if (found.length === limit) return (more = true)
      found.push({ root, offset: readUint48(key, key.length - 6), count: summary.count, key })
    }
    chunk = []
    return false
  }
  for await (const entry of reader.entries({ gte: start, lt: after ?? prefixEnd(start), reverse: true })) {
    chunk.push(entry)
    if (chunk.length >= Math.max(limit - found.length, 8) && (await take())) break
  }
  if (!more && chunk.length > 0) await take()
  // Summaries begun for entries past a full page must not outlive the query unobserved.
  await Promise.allSettled(summaries.values())
  const latest = await store.getByOffsets(found.map((entry) => entry.offset), { decrypt: true })
  const items = found.map((entry, i): Conversation => ({
    root: toMessageId(entry.root),
    recps: recipients(latest[i]!),
    latest: latest[i]!,
    count: entry.count,
  }))
  return more ? { items, cursor: encodeCursor(found.at(-1)!.key) } : { items }
}

/**
 * Every private message of the conversation started by `root`, in causal order: the root
 * first (when it is a private message we hold), then the replies by time.
 */
export async function conversation(store: Store, root: MessageId): Promise<IndexedMessage[]> {
  if (!isMessageId(root)) return []
  const prefix = Buffer.concat([Buffer.from([INBOX_CONVERSATION]), messageHash(root)])
  const offsets: number[] = []
  for await (const key of store.indexReader('inbox').keys({ gte: prefix, lt: prefixEnd(prefix) })) {
    offsets.push(readUint48(key, key.length - 6))
  }
  const messages = await store.getByOffsets(offsets, { decrypt: true })
  const rootAt = messages.findIndex((message) => message.key === root)
  if (rootAt > 0) messages.unshift(...messages.splice(rootAt, 1))
  return messages
}

/** `content.recps` as distinct feed ids: entries may be ids or `{link: id, name}`; anything else is dropped. */
export function recipients(message: IndexedMessage): FeedId[] {
  const { content } = message.value
  const recps = typeof content === 'object' && content !== null ? content.recps : undefined
  if (!Array.isArray(recps)) return []
  const feeds = new Set<FeedId>()
  for (const recp of recps) {
    const link = linkOf(recp)
    if (isFeedId(link)) feeds.add(link)
  }
  return [...feeds]
}

async function summarise(reader: IndexReader, root: Buffer): Promise<Summary> {
  const prefix = Buffer.concat([Buffer.from([INBOX_CONVERSATION]), root])
  let last: Buffer | undefined
  let count = 0
  for await (const key of reader.keys({ gte: prefix, lt: prefixEnd(prefix) })) {
    last = key
    count++
  }
  // The timeline entry that led here is in the conversation too, so it has at least one key.
  return { last: last ? last.subarray(prefix.length) : Buffer.alloc(0), count }
}
