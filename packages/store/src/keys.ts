// Binary LevelDB keys: fixed-width big-endian numbers sort in numeric order, and raw 32-byte
// ids are half the size of their base64 text.
import { feedPublicKey, messageHash, type FeedId, type MessageId } from '@hearsay/keys'

export function offsetKey(offset: number): Buffer {
  const key = Buffer.allocUnsafe(6)
  key.writeUIntBE(offset, 0, 6)
  return key
}

export function readOffset(key: Uint8Array, at = 0): number {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).readUIntBE(at, 6)
}

/** author(32) ‖ sequence(4): a feed's messages in sequence order. */
export function feedSequenceKey(author: FeedId, sequence: number): Buffer {
  const key = Buffer.allocUnsafe(36)
  feedPublicKey(author).copy(key, 0)
  key.writeUInt32BE(sequence, 32)
  return key
}

export function feedKey(author: FeedId): Buffer {
  return feedPublicKey(author)
}

/**
 * The by-id index keeps only the hash's first 9 bytes, then the offset: a quarter of the bytes
 * of a full hash (9 bytes are 12 base64 characters, so the prefix is read straight off the id).
 * Readers compare the full id of each candidate, so a shared prefix (which would take a 2^72
 * second-preimage search to aim at someone else's message) can hide nothing.
 */
export const ID_PREFIX_BYTES = 9

export function messageIdPrefix(id: MessageId): Buffer {
  return messageHash(id).subarray(0, ID_PREFIX_BYTES)
}

export function messageKey(id: MessageId, offset: number): Buffer {
  return Buffer.concat([messageIdPrefix(id), offsetKey(offset)])
}
