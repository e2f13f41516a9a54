// Building blocks for index keys. Keys are concatenations of fixed-width numbers and
// NUL-terminated text, so that LevelDB's byte order is the order queries want.
import type { StoredMessage } from '../types.ts'

const MAX_UINT48 = 2 ** 48 - 1

/** Big-endian 6 bytes: ms timestamps and log offsets both fit, and sort numerically. */
export function uint48(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(6)
  bytes.writeUIntBE(Math.min(Math.max(Math.floor(value), 0), MAX_UINT48), 0, 6)
  return bytes
}

export function readUint48(bytes: Uint8Array, at: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUIntBE(at, 6)
}

/** UTF-8 text ended by a NUL (NULs inside become 0x01, so a segment can never end early). */
export function text(value: string): Buffer {
  const bytes = Buffer.from(value + '\0', 'utf8')
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0) bytes[i] = 1
  return bytes
}

export function key(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts)
}

/**
 * When a message happened, for sorting: the author's claim, but never later than when we
 * received it, so a message dated in the future cannot pin itself to the top of a feed.
 */
export function sortTime(message: StoredMessage): number {
  return Math.min(message.value.timestamp, message.timestamp)
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
}
