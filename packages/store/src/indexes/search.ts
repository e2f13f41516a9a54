import { sortTime } from './codec.ts'
import type { IndexDefinition, IndexedMessage } from './definition.ts'
import { tokenize } from './tokenize.ts'

/** The space a posting belongs to: private posts never share keys with public ones. */
export const PUBLIC_POSTINGS = 0x00
export const PRIVATE_POSTINGS = 0x01
/** day(2) ‖ offset(6): what follows a token in a posting key, newest last. */
export const POSTING_SUFFIX_BYTES = 8
const DAY_MS = 86_400_000
const MAX_DAY = 0xffff

const EMPTY = new Uint8Array(0)

/**
 * Full-text search over posts: an inverted index with one key per distinct token of a post,
 * `space ‖ token ‖ 0 ‖ day(2) ‖ offset(6)`, empty value. Read backwards, each token's keys
 * list its posts newest first (by the day of their sortTime, then by arrival), and every token
 * orders its posts the same way, so queries intersect tokens by walking them side by side.
 * Private posts (decrypted for us) go to their own space, which only queries that ask for
 * private results read.
 *
 * Why a day and not the full time: postings are most of this index, and LevelDB stores each
 * key's bytes after the part it shares with the previous one. Within a day the keys of one
 * token share everything up to the low bytes of the offset; a millisecond time would add ~6
 * unshared bytes to every posting (on the 10k fixture, compacted: 124 bytes per message, not 78).
 */
export const searchIndex: IndexDefinition = {
  name: 'search',
  version: 1,
  index(message, writer) {
    const text = postText(message)
    if (text === null) return
    const tokens = tokenize(text)
    if (tokens.length === 0) return
    const suffix = Buffer.allocUnsafe(POSTING_SUFFIX_BYTES)
    suffix.writeUInt16BE(postingDay(message), 0)
    suffix.writeUIntBE(message.offset, 2, 6)
    const space = message.private ? PRIVATE_POSTINGS : PUBLIC_POSTINGS
    for (const token of tokens) writer.put(postingKey(space, token, suffix), EMPTY)
  },
}

/** Days since 1970 of the message's sortTime, clamped to what two bytes hold (until 2149). */
export function postingDay(message: IndexedMessage): number {
  return Math.min(Math.max(Math.floor(sortTime(message) / DAY_MS), 0), MAX_DAY)
}

/** The log offset a posting's suffix (`day ‖ offset`) points to. */
export function postingOffset(suffix: Buffer): number {
  return suffix.readUIntBE(2, 6)
}

/** The searchable text of a post, or null for anything else (or content we could not read). */
export function postText(message: IndexedMessage): string | null {
  const { content } = message.value
  if (typeof content !== 'object' || content === null || content.type !== 'post' || typeof content.text !== 'string') return null
  return content.text
}

/** `space ‖ token ‖ 0`: the prefix of every posting of one token. */
export function tokenPrefix(space: number, token: string): Buffer {
  const length = Buffer.byteLength(token)
  const prefix = Buffer.allocUnsafe(length + 2)
  prefix[0] = space
  prefix.write(token, 1, 'utf8')
  prefix[length + 1] = 0
  return prefix
}

function postingKey(space: number, token: string, suffix: Buffer): Buffer {
  // Tokens are short and mostly ASCII: copied a character at a time, they skip the UTF-8 encoder.
  const chars = token.length
  let ascii = true
  for (let i = 0; i < chars; i++) {
    if (token.charCodeAt(i) > 0x7f) {
      ascii = false
      break
    }
  }
  const length = ascii ? chars : Buffer.byteLength(token)
  const key = Buffer.allocUnsafe(length + 2 + POSTING_SUFFIX_BYTES)
  key[0] = space
  if (ascii) for (let i = 0; i < chars; i++) key[i + 1] = token.charCodeAt(i)
  else key.write(token, 1, 'utf8')
  key[length + 1] = 0
  for (let i = 0; i < POSTING_SUFFIX_BYTES; i++) key[length + 2 + i] = suffix[i]!
  return key
}
