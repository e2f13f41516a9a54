// What the social indexes read out of message content, shared with the live queries so that
// "would this message be in that index?" has exactly one answer. Everything here is synchronous
// and allocation-light: it runs once per stored message on the import path.
import type { FeedId, MessageId } from '@hearsay/keys'
import type { IndexedMessage } from './definition.ts'
import { sortTime } from './codec.ts'

/** Public content as an object, or null for private, undecryptable or odd content. */
export type PublicContent = { type: string; [field: string]: unknown }

/** The content of a message as public queries may see it: never a private (decrypted) one. */
export function publicContent(message: IndexedMessage): PublicContent | null {
  if (message.private) return null
  const { content } = message.value
  return typeof content === 'object' && content !== null ? content : null
}

// `@` + 44 base64 + `.ed25519` is 53 characters; `%`/`&` + 44 + `.sha256` is 52.
const FEED_REF_LENGTH = 53
const HASH_REF_LENGTH = 52
export const SIGIL_FEED = 0x40 // '@'
export const SIGIL_MESSAGE = 0x25 // '%'
export const SIGIL_BLOB = 0x26 // '&'

/** Cheap shape check before any decoding: right sigil, right length, right suffix. */
export function looksLikeRef(value: string): boolean {
  const length = value.length
  if (length === HASH_REF_LENGTH) {
    const sigil = value.charCodeAt(0)
    return (sigil === SIGIL_MESSAGE || sigil === SIGIL_BLOB) && value.endsWith('.sha256')
  }
  return length === FEED_REF_LENGTH && value.charCodeAt(0) === SIGIL_FEED && value.endsWith('.ed25519')
}

/**
 * The 32 raw bytes of a canonical ref, or null when it is not one. The cheap shape check runs
 * first, so the throwing decoders of @hearsay/keys only see strings that almost surely decode.
 */
export function refBytes(ref: string): Buffer | null {
  return looksLikeRef(ref) ? decodeKey(ref) : null
}

/** Standard base64 alphabet → 6-bit value; -1 for anything else. */
const BASE64 = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i
const PAD = 0x3d // '='

/**
 * The 32 bytes of the base64 at ref[1..45), or null unless it is canonical: what @hearsay/keys'
 * feedPublicKey / messageHash / blobHash accept, decoded here without a round trip through
 * Node's lenient decoder and encoder. 32 bytes are 43 characters of the standard alphabet and
 * one '='; canonical means the last character's two unused bits are zero.
 */
function decodeKey(ref: string): Buffer | null {
  if (ref.charCodeAt(44) !== PAD) return null
  const out = Buffer.allocUnsafe(32)
  let at = 0
  // Ten groups of four characters make 30 bytes.
  for (let i = 1; i < 41; i += 4) {
    const a = sextet(ref, i)
    const b = sextet(ref, i + 1)
    const c = sextet(ref, i + 2)
    const d = sextet(ref, i + 3)
    if ((a | b | c | d) < 0) return null
    out[at++] = (a << 2) | (b >> 4)
    out[at++] = ((b & 0xf) << 4) | (c >> 2)
    out[at++] = ((c & 0x3) << 6) | d
  }
  const a = sextet(ref, 41)
  const b = sextet(ref, 42)
  const c = sextet(ref, 43)
  if ((a | b | c) < 0 || (c & 0x3) !== 0) return null
  out[at++] = (a << 2) | (b >> 4)
  out[at] = ((b & 0xf) << 4) | (c >> 2)
  return out
}

function sextet(text: string, at: number): number {
  const code = text.charCodeAt(at)
  return code < 128 ? BASE64[code]! : -1
}

let lastFeed: string | null = null
let lastFeedBytes: Buffer | null = null

/**
 * The 32 bytes of a canonical feed id, or null. Several indexes ask for the same author in a
 * row, so the last answer is kept: the buffer returned may be shared, and must not be changed.
 */
export function feedBytes(value: unknown): Buffer | null {
  if (typeof value !== 'string' || value.length !== FEED_REF_LENGTH || value.charCodeAt(0) !== SIGIL_FEED) return null
  if (value === lastFeed) return lastFeedBytes
  const bytes = refBytes(value)
  if (bytes) {
    lastFeed = value
    lastFeedBytes = bytes
  }
  return bytes
}

export function messageBytes(value: unknown): Buffer | null {
  return typeof value === 'string' && value.length === HASH_REF_LENGTH && value.charCodeAt(0) === SIGIL_MESSAGE ? refBytes(value) : null
}

const MAX_DEPTH = 16

/**
 * Every distinct ref among the string values anywhere inside `content` (object keys are not
 * refs), in the order first met. Only exact values count, not refs quoted inside longer text.
 */
export function refsIn(content: PublicContent): string[] {
  const found: string[] = []
  walk(content, found, 0)
  return found
}

function walk(value: unknown, found: string[], depth: number): void {
  if (typeof value === 'string') {
    if ((value.length === HASH_REF_LENGTH || value.length === FEED_REF_LENGTH) && looksLikeRef(value) && !found.includes(value)) found.push(value)
    return
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], found, depth + 1)
    return
  }
  for (const field in value) walk((value as Record<string, unknown>)[field], found, depth + 1)
}

/** `content.root` when it is a message id: the thread this message replies in. */
export function rootOf(content: PublicContent): MessageId | null {
  const root = content.root
  return typeof root === 'string' && root.length === HASH_REF_LENGTH && root.charCodeAt(0) === SIGIL_MESSAGE ? (root as MessageId) : null
}

/** `content.branch` as a list: clients write one id, or an array of the thread's latest tips. */
export function branchesOf(content: PublicContent): MessageId[] {
  const branch = content.branch
  if (typeof branch === 'string') return branch.charCodeAt(0) === SIGIL_MESSAGE ? [branch as MessageId] : []
  if (!Array.isArray(branch)) return []
  return branch.filter((b): b is MessageId => typeof b === 'string' && b.charCodeAt(0) === SIGIL_MESSAGE)
}

const FEED_IN_TEXT = /@[A-Za-z0-9+/]{43}=\.ed25519/g

/**
 * Feeds a message mentions: links of `content.mentions` (objects `{link}` or plain strings)
 * that are feed ids, and feed ids written out in `content.text`. Distinct, unvalidated.
 */
export function mentionedFeeds(content: PublicContent): FeedId[] {
  const found: FeedId[] = []
  const { mentions, text } = content
  if (Array.isArray(mentions)) {
    for (const mention of mentions) {
      const link = typeof mention === 'string' ? mention : typeof mention === 'object' && mention !== null ? (mention as { link?: unknown }).link : undefined
      if (typeof link === 'string' && link.length === FEED_REF_LENGTH && link.charCodeAt(0) === SIGIL_FEED && !found.includes(link as FeedId)) found.push(link as FeedId)
    }
  }
  if (typeof text === 'string' && text.includes('.ed25519')) {
    for (const match of text.matchAll(FEED_IN_TEXT)) if (!found.includes(match[0] as FeedId)) found.push(match[0] as FeedId)
  }
  return found
}

const MAX_TAG_LENGTH = 100
// A `#` that starts a word (not `&#38;`, not `page#anchor`), then letters, digits, `_` or `-`.
const TAG_IN_TEXT = /(?:^|[^\p{L}\p{N}_&/#-])#([\p{L}\p{N}_-]+)/gu

/**
 * A channel or hashtag in its one canonical spelling: without `#`, trimmed, lowercased;
 * null when nothing (or something absurdly long) is left.
 */
export function normalizeTag(tag: string): string | null {
  let start = 0
  while (start < tag.length && tag.charCodeAt(start) === 0x23) start++
  const normal = (start > 0 ? tag.slice(start) : tag).trim().toLowerCase()
  return normal.length > 0 && normal.length <= MAX_TAG_LENGTH ? normal : null
}

/**
 * The tags a message carries: `content.channel`, `#tag` links in `content.mentions`, and
 * `#hashtags` in `content.text`. Normalized and distinct.
 */
export function hashtagsOf(content: PublicContent): string[] {
  const found: string[] = []
  const { channel, mentions, text } = content
  if (typeof channel === 'string') addTag(found, channel)
  if (Array.isArray(mentions)) {
    for (const mention of mentions) {
      const link = typeof mention === 'string' ? mention : typeof mention === 'object' && mention !== null ? (mention as { link?: unknown }).link : undefined
      if (typeof link === 'string' && link.charCodeAt(0) === 0x23) addTag(found, link)
    }
  }
  if (typeof text === 'string' && text.includes('#')) {
    for (const match of text.matchAll(TAG_IN_TEXT)) addTag(found, match[1]!)
  }
  return found
}

// A function of its own, not a closure in hashtagsOf: one closure per message adds up on import.
function addTag(found: string[], raw: string): void {
  const tag = normalizeTag(raw)
  if (tag !== null && !found.includes(tag)) found.push(tag)
}

/** The 12-byte order key every message-listing index ends in: sortTime ‖ offset. */
export const ORDER_BYTES = 12

/** Writes sortTime ‖ offset of `message` into `target` at `at`. */
export function writeOrder(target: Buffer, at: number, message: IndexedMessage): void {
  target.writeUIntBE(Math.max(0, Math.min(sortTime(message), 2 ** 48 - 1)), at, 6)
  target.writeUIntBE(message.offset, at + 6, 6)
}

/** prefix ‖ sortTime ‖ offset, built in one allocation. */
export function orderedKey(prefix: Uint8Array, message: IndexedMessage): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + ORDER_BYTES)
  out.set(prefix, 0)
  writeOrder(out, prefix.length, message)
  return out
}

/** byte ‖ prefix ‖ sortTime ‖ offset: for key spaces that keep several kinds of key apart. */
export function taggedOrderedKey(tag: number, prefix: Uint8Array, message: IndexedMessage): Buffer {
  const out = Buffer.allocUnsafe(1 + prefix.length + ORDER_BYTES)
  out[0] = tag
  out.set(prefix, 1)
  writeOrder(out, 1 + prefix.length, message)
  return out
}

/** The order key as a standalone value (for indexes whose key is not ordered by time). */
export function orderValue(message: IndexedMessage, lead?: number): Buffer {
  const out = Buffer.allocUnsafe(lead === undefined ? ORDER_BYTES : ORDER_BYTES + 1)
  if (lead === undefined) {
    writeOrder(out, 0, message)
  } else {
    out[0] = lead
    writeOrder(out, 1, message)
  }
  return out
}

/** The value of keys that carry everything in themselves. */
export const EMPTY = new Uint8Array(0)
