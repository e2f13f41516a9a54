import crypto from 'node:crypto'
import type { MessageId } from '@hearsay/keys'

/** The network's limit, counted in UTF-16 code units of the encoded value (a legacy of ssb-validate). */
export const MAX_MESSAGE_LENGTH = 8192

/**
 * A signed encoding is the unsigned one with this line spliced in before its closing `\n}`:
 * `signature` is always the last key and its text never needs JSON escaping.
 */
export const SIGNATURE_LINE_START = ',\n  "signature": "'
export const SIGNATURE_LINE_END = '"\n}'
/** `<88 base64 chars>.sig.ed25519` */
export const SIGNATURE_STRING_LENGTH = 88 + '.sig.ed25519'.length

/** The one canonical text of a value: what is signed (without `signature`) and what is hashed. */
export function encodeValue(value: object): string {
  return JSON.stringify(value, null, 2)
}

/**
 * Ids hash the encoded text as latin1 — one byte per UTF-16 code unit, keeping only the low
 * byte — because ssb-keys hashes `Buffer.from(text, 'binary')`. Lossy, but it is the network's rule.
 */
export function messageIdOfEncoded(encoded: string): MessageId {
  const bytes = encoded.length <= scratchLatin1.length ? scratchLatin1.subarray(0, scratchLatin1.write(encoded, 0, 'latin1')) : Buffer.from(encoded, 'latin1')
  return messageIdOfLatin1(bytes)
}

/** The id of a message whose encoding is already in hand as latin1 bytes. */
export function messageIdOfLatin1(bytes: Uint8Array): MessageId {
  return `%${sha256Base64(bytes)}.sha256`
}

// Node's OpenSSL uses the CPU's SHA extensions where it has them; libsodium's portable SHA-256
// does not, and on the bench machine took 3.5 µs of a 50 µs validation against 1 µs here.
// crypto.hash (one call, base64 out) is Node ≥ 20.12; createHash is the same digest, a little slower.
const sha256Base64: (bytes: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (bytes) => crypto.hash('sha256', bytes, 'base64')
    : (bytes) => crypto.createHash('sha256').update(bytes).digest('base64')

export function messageIdOf(value: object): MessageId {
  return messageIdOfEncoded(encodeValue(value))
}

// Scratch space for the hot path: one message within the limit always fits (UTF-8 needs at most
// 3 bytes per UTF-16 unit). Every use is synchronous, so sharing them is safe.
export const scratchUtf8 = Buffer.allocUnsafe(MAX_MESSAGE_LENGTH * 3)
const scratchLatin1 = Buffer.allocUnsafe(MAX_MESSAGE_LENGTH)
