// The log's on-disk form of a message. The signed JSON spends most of a small message's bytes
// on base64 ids, the signature and field names; here those are raw bytes and flags, and only
// the content stays JSON. Decoding rebuilds a value whose JSON encoding is byte-identical to
// what was signed, so ids and signatures still verify.
import { feedPublicKey, messageHash, toFeedId, toMessageId, toSignatureString, decodeSignature, decodeCanonicalBase64 } from '@hearsay/keys'
import type { Content, MessageValue } from '@hearsay/message'
import type { StoredMessage } from './types.ts'

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

export function encodeLogEntry(message: Pick<StoredMessage, 'key' | 'value' | 'timestamp'>): Buffer {
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
    content = Buffer.from(JSON.stringify(value.content), 'utf8')
  }
  const signature = decodeSignature(value.signature)
  if (!signature) throw new Error(`cannot store ${message.key}: its signature is not canonical`)
  const size = 1 + 8 + 32 + (flags & NO_PREVIOUS ? 0 : 32) + 32 + 4 + 8 + 64 + content.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  out[at++] = flags
  at = writeTime(out, at, message.timestamp, flags & FLOAT_RECEIVED)
  at += messageHash(message.key).copy(out, at)
  if (value.previous !== null) at += messageHash(value.previous).copy(out, at)
  at += feedPublicKey(value.author).copy(out, at)
  at = out.writeUInt32BE(value.sequence, at)
  at = writeTime(out, at, value.timestamp, flags & FLOAT_TIMESTAMP)
  at += signature.copy(out, at)
  content.copy(out, at)
  return out.subarray(0, at + content.length)
}

export function decodeLogEntry(offset: number, raw: Buffer): StoredMessage {
  const flags = raw[0]!
  let at = 1
  const timestamp = readTime(raw, at, flags & FLOAT_RECEIVED)
  at += 8
  const key = toMessageId(raw.subarray(at, (at += 32)))
  const previous = flags & NO_PREVIOUS ? null : toMessageId(raw.subarray(at, (at += 32)))
  const author = toFeedId(raw.subarray(at, (at += 32)))
  const sequence = raw.readUInt32BE(at)
  at += 4
  const authorTime = readTime(raw, at, flags & FLOAT_TIMESTAMP)
  at += 8
  const signature = toSignatureString(raw.subarray(at, (at += 64)))
  const body = raw.subarray(at)
  const content: Content =
    flags & BOX_CONTENT ? `${body.toString('base64')}.box`
    : flags & STRING_CONTENT ? body.toString('utf8')
    : (JSON.parse(body.toString('utf8')) as Content)
  // Key order is part of what was signed, so the object is built in the order it arrived.
  const value: MessageValue =
    flags & SEQUENCE_FIRST
      ? { previous, sequence, author, timestamp: authorTime, hash: 'sha256', content, signature }
      : { previous, author, sequence, timestamp: authorTime, hash: 'sha256', content, signature }
  return { key, value, timestamp, offset }
}

/** 8 bytes: a uint48 ms count (2 bytes zero) or, flagged, a float64 for anything else. */
function writeTime(out: Buffer, at: number, time: number, isFloat: number): number {
  if (isFloat) return out.writeDoubleBE(time, at)
  out.writeUInt16BE(0, at)
  return out.writeUIntBE(time, at + 2, 6)
}

function readTime(raw: Buffer, at: number, isFloat: number): number {
  return isFloat ? raw.readDoubleBE(at) : raw.readUIntBE(at + 2, 6)
}
