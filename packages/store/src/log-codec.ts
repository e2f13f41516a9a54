// The log's on-disk form of a message. The signed JSON spends most of a small message's bytes
// on base64 ids, the signature and field names; here those are raw bytes and flags, and only
// the content stays JSON. Decoding rebuilds a value whose JSON encoding is byte-identical to
// what was signed, so ids and signatures still verify, and the message's own id is not stored
// at all: it is the hash of that encoding, derived again on every read (a few µs) rather than
// kept as 32 incompressible bytes a message.
//
// Format 3 (this one): flags(1) ‖ received time ‖ previous id(32, unless none) ‖ author's feed
// number(4) ‖ sequence(4) ‖ author's time ‖ signature(64) ‖ content. The store numbers feeds as
// it first meets them (see feedNumberIn in store.ts): 4 bytes a message instead of a 32-byte
// key that snappy rarely finds again nearby, feeds arriving interleaved. A time is 6 bytes, or
// 8 (a float64) when flagged. Object content is its JSON with every quoted ref in it
// (`"%…=.sha256"`, `"@…=.ed25519"`, `"&…=.sha256"`: 54 or 55 bytes, its base64 beyond snappy's
// reach) replaced by one marker byte and the 32 raw bytes (see packRefs). Format 1 also stored
// the message id after the received time, the author's whole key, every time in 8 bytes, and
// content JSON as it is; format 2 (never released) had the author's key and this layout
// otherwise. Stores in either are refused on open (see checkLogFormat in store.ts).
import { messageHash, toBlobId, toFeedId, toMessageId, toSignatureString, decodeSignature, decodeCanonicalBase64, type FeedId } from '@hearsay/keys'
import { messageIdOf, type Content, type MessageValue } from '@hearsay/message'
import { refBytes } from './indexes/content.ts'
import type { StoredMessage } from './types.ts'

/** Written into every store's meta; a store in any other format is not opened. */
export const LOG_FORMAT = 3

const SEQUENCE_FIRST = 1 // key order previous, sequence, author (else previous, author, sequence)
const NO_PREVIOUS = 2
const FLOAT_TIMESTAMP = 4 // the author's timestamp is not a whole number of ms in uint48 range
const FLOAT_RECEIVED = 8
const BOX_CONTENT = 16 // content is `<canonical base64>.box`, stored as the raw ciphertext
const STRING_CONTENT = 32 // some other string content, stored as UTF-8

const MAX_UINT48 = 2 ** 48 - 1

function isUint48(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_UINT48
}

/** The entry of `message`, whose author has the feed number `authorNumber` in this store. */
export function encodeLogEntry(message: Pick<StoredMessage, 'value' | 'timestamp'>, authorNumber: number): Buffer {
  const { value } = message
  let flags = 0
  if (Object.keys(value)[1] === 'sequence') flags |= SEQUENCE_FIRST
  if (value.previous === null) flags |= NO_PREVIOUS
  if (!isUint48(value.timestamp)) flags |= FLOAT_TIMESTAMP
  if (!isUint48(message.timestamp)) flags |= FLOAT_RECEIVED
  let content: Buffer
  if (typeof value.content === 'string') {
    const boxed = value.content.endsWith('.box') ? decodeCanonicalBase64(value.content.slice(0, -4)) : null
    if (boxed) {
      flags |= BOX_CONTENT
      content = boxed
    } else {
      flags |= STRING_CONTENT
      content = Buffer.from(value.content, 'utf8')
    }
  } else {
    content = packRefs(JSON.stringify(value.content))
  }
  const signature = decodeSignature(value.signature)
  if (!signature) throw new Error(`cannot store ${value.author} #${value.sequence}: its signature is not canonical`)
  const size = 1 + 8 + (flags & NO_PREVIOUS ? 0 : 32) + 4 + 4 + 8 + 64 + content.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  out[at++] = flags
  at = writeTime(out, at, message.timestamp, flags & FLOAT_RECEIVED)
  if (value.previous !== null) at += messageHash(value.previous).copy(out, at)
  at = out.writeUInt32BE(authorNumber, at)
  at = out.writeUInt32BE(value.sequence, at)
  at = writeTime(out, at, value.timestamp, flags & FLOAT_TIMESTAMP)
  at += signature.copy(out, at)
  content.copy(out, at)
  return out.subarray(0, at + content.length)
}

/** The message of a log entry; `authorOf` gives the feed of a feed number. */
export function decodeLogEntry(offset: number, raw: Buffer, authorOf: (authorNumber: number) => FeedId): StoredMessage {
  const flags = raw[0]!
  let at = 1
  const timestamp = readTime(raw, at, flags & FLOAT_RECEIVED)
  at += timeBytes(flags & FLOAT_RECEIVED)
  const previous = flags & NO_PREVIOUS ? null : toMessageId(raw.subarray(at, (at += 32)))
  const author = authorOf(raw.readUInt32BE(at))
  at += 4
  const sequence = raw.readUInt32BE(at)
  at += 4
  const authorTime = readTime(raw, at, flags & FLOAT_TIMESTAMP)
  at += timeBytes(flags & FLOAT_TIMESTAMP)
  const signature = toSignatureString(raw.subarray(at, (at += 64)))
  const body = raw.subarray(at)
  const content: Content =
    flags & BOX_CONTENT ? `${body.toString('base64')}.box`
    : flags & STRING_CONTENT ? body.toString('utf8')
    : (JSON.parse(unpackRefs(body)) as Content)
  // Key order is part of what was signed, so the object is built in the order it arrived.
  const value: MessageValue =
    flags & SEQUENCE_FIRST
      ? { previous, sequence, author, timestamp: authorTime, hash: 'sha256', content, signature }
      : { previous, author, sequence, timestamp: authorTime, hash: 'sha256', content, signature }
  return { key: messageIdOf(value), value, timestamp, offset }
}

/** 6 bytes, a uint48 ms count, or flagged, 8 bytes of a float64 for anything else. */
function writeTime(out: Buffer, at: number, time: number, isFloat: number): number {
  return isFloat ? out.writeDoubleBE(time, at) : out.writeUIntBE(time, at, 6)
}

function readTime(raw: Buffer, at: number, isFloat: number): number {
  return isFloat ? raw.readDoubleBE(at) : raw.readUIntBE(at, 6)
}

function timeBytes(isFloat: number): number {
  return isFloat ? 8 : 6
}

// JSON text never holds a byte below 0x20 (JSON.stringify escapes every control character, and
// UTF-8 continuation bytes are ≥ 0x80), so these bytes can stand for refs without ambiguity.
// Replacing exact byte runs, wherever they are (a string value, a key, quoted inside a text),
// makes unpacking give back the very same JSON text.
const MESSAGE_REF = 0x01
const FEED_REF = 0x02
const BLOB_REF = 0x03
const HASH_SUFFIX = '.sha256"'
const FEED_SUFFIX = '.ed25519"'
/** `"` + sigil + 44 base64 characters. */
const REF_HEAD = 46

/** UTF-8 of `json` with each quoted canonical ref as marker ‖ 32 bytes. */
export function packRefs(json: string): Buffer {
  const out = Buffer.allocUnsafe(Buffer.byteLength(json))
  let written = 0
  let copied = 0
  const refAt = (suffixAt: number, suffix: string) => {
    const start = suffixAt - REF_HEAD
    if (start < copied || json.charCodeAt(start) !== 0x22) return
    const bytes = refBytes(json.slice(start + 1, suffixAt + suffix.length - 1))
    if (!bytes) return
    const sigil = json.charCodeAt(start + 1)
    written += out.write(json.slice(copied, start), written, 'utf8')
    out[written++] = sigil === 0x25 ? MESSAGE_REF : sigil === 0x40 ? FEED_REF : BLOB_REF
    written += bytes.copy(out, written)
    copied = suffixAt + suffix.length
  }
  // Refs in order of position: walk both suffixes side by side.
  let hash = json.indexOf(HASH_SUFFIX)
  let feed = json.indexOf(FEED_SUFFIX)
  while (hash !== -1 || feed !== -1) {
    if (feed === -1 || (hash !== -1 && hash < feed)) {
      refAt(hash, HASH_SUFFIX)
      hash = json.indexOf(HASH_SUFFIX, hash + 1)
    } else {
      refAt(feed, FEED_SUFFIX)
      feed = json.indexOf(FEED_SUFFIX, feed + 1)
    }
  }
  if (copied === 0) return out.subarray(0, out.write(json, 0, 'utf8'))
  written += out.write(json.slice(copied), written, 'utf8')
  return out.subarray(0, written)
}

/** The JSON text `packRefs` was given. */
export function unpackRefs(packed: Buffer): string {
  let text = ''
  let from = 0
  for (let i = 0; i < packed.length; i++) {
    const marker = packed[i]!
    if (marker > BLOB_REF) continue
    const bytes = packed.subarray(i + 1, i + 33)
    if (marker === 0 || bytes.length !== 32) throw new Error(`a log entry has a damaged ref at byte ${i} of its content`)
    const ref = marker === MESSAGE_REF ? toMessageId(bytes) : marker === FEED_REF ? toFeedId(bytes) : toBlobId(bytes)
    text += `${packed.toString('utf8', from, i)}"${ref}"`
    i += 32
    from = i + 1
  }
  return from === 0 ? packed.toString('utf8') : text + packed.toString('utf8', from)
}
