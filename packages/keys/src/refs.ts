import { decodeCanonicalBase64 } from './base64.ts'

/** `@<32-byte ed25519 public key, base64>.ed25519` */
export type FeedId = `@${string}.ed25519`
/** `%<32-byte sha256 of the message, base64>.sha256` */
export type MessageId = `%${string}.sha256`
/** `&<32-byte sha256 of the blob, base64>.sha256` */
export type BlobId = `&${string}.sha256`
/** `<64-byte ed25519 signature, base64>.sig.ed25519` */
export type SignatureString = `${string}.sig.ed25519`

export class InvalidRefError extends Error {
  override readonly name = 'InvalidRefError'
  readonly code = 'EINVALIDREF'
}

const FEED_SUFFIX = '.ed25519'
const HASH_SUFFIX = '.sha256'
const SIGNATURE_SUFFIX = '.sig.ed25519'
// base64 of 32 bytes is 44 characters, of 64 bytes 88.
const KEY_B64_LENGTH = 44
const SIGNATURE_B64_LENGTH = 88

function decodeSigil(text: unknown, sigil: string, suffix: string): Buffer | null {
  if (typeof text !== 'string') return null
  if (text.length !== 1 + KEY_B64_LENGTH + suffix.length) return null
  if (text[0] !== sigil || !text.endsWith(suffix)) return null
  return decodeCanonicalBase64(text.slice(1, 1 + KEY_B64_LENGTH), 32)
}

function describe(text: unknown): string {
  return typeof text === 'string' ? JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text) : typeof text
}

export function isFeedId(text: unknown): text is FeedId {
  return decodeSigil(text, '@', FEED_SUFFIX) !== null
}

export function isMessageId(text: unknown): text is MessageId {
  return decodeSigil(text, '%', HASH_SUFFIX) !== null
}

export function isBlobId(text: unknown): text is BlobId {
  return decodeSigil(text, '&', HASH_SUFFIX) !== null
}

/** The 32-byte public key a feed id names; throws InvalidRefError on anything non-canonical. */
export function feedPublicKey(id: unknown): Buffer {
  const key = decodeSigil(id, '@', FEED_SUFFIX)
  if (!key) throw new InvalidRefError(`not a feed id (@<base64 32 bytes>.ed25519): ${describe(id)}`)
  return key
}

export function messageHash(id: unknown): Buffer {
  const hash = decodeSigil(id, '%', HASH_SUFFIX)
  if (!hash) throw new InvalidRefError(`not a message id (%<base64 32 bytes>.sha256): ${describe(id)}`)
  return hash
}

export function blobHash(id: unknown): Buffer {
  const hash = decodeSigil(id, '&', HASH_SUFFIX)
  if (!hash) throw new InvalidRefError(`not a blob id (&<base64 32 bytes>.sha256): ${describe(id)}`)
  return hash
}

export function toFeedId(publicKey: Uint8Array): FeedId {
  return `@${Buffer.from(publicKey).toString('base64')}.ed25519` as FeedId
}

export function toMessageId(sha256: Uint8Array): MessageId {
  return `%${Buffer.from(sha256).toString('base64')}.sha256` as MessageId
}

export function toBlobId(sha256: Uint8Array): BlobId {
  return `&${Buffer.from(sha256).toString('base64')}.sha256` as BlobId
}

export function toSignatureString(signature: Uint8Array): SignatureString {
  return `${Buffer.from(signature).toString('base64')}.sig.ed25519` as SignatureString
}

/** The 64 signature bytes, or null when the text is not a canonical `….sig.ed25519`. */
export function decodeSignature(text: unknown): Buffer | null {
  if (typeof text !== 'string') return null
  if (text.length !== SIGNATURE_B64_LENGTH + SIGNATURE_SUFFIX.length || !text.endsWith(SIGNATURE_SUFFIX)) return null
  return decodeCanonicalBase64(text.slice(0, SIGNATURE_B64_LENGTH), 64)
}
