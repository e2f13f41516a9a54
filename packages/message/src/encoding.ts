import sodium from 'sodium-native'
import { toMessageId, type MessageId } from '@hearsay/keys'

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
  sodium.crypto_hash_sha256(hashOut, bytes)
  return toMessageId(hashOut)
}

export function messageIdOf(value: object): MessageId {
  return messageIdOfEncoded(encodeValue(value))
}

// Scratch space for the hot path: one message within the limit always fits (UTF-8 needs at most
// 3 bytes per UTF-16 unit). Every use is synchronous, so sharing them is safe.
export const scratchUtf8 = Buffer.allocUnsafe(MAX_MESSAGE_LENGTH * 3)
const scratchLatin1 = Buffer.allocUnsafe(MAX_MESSAGE_LENGTH)
const hashOut = Buffer.allocUnsafe(32)
