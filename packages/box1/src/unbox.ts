import sodium from 'sodium-native'
import type { Identity } from '@hearsay/keys'
import { decodeBox1, HEADER_BYTES, MAC_BYTES, MAX_RECIPIENTS, NONCE_BYTES, SLOT_BYTES, UNBOX_KEY_BYTES } from './format.ts'

export interface Unboxer {
  /** The decrypted content, or undefined for anything we cannot open (never throws). */
  unbox(boxed: string): unknown
  /**
   * The 33-byte recipient count ‖ body key, or undefined. Keeping it lets a store reopen the
   * message with unboxWithKey without repeating the scalar multiplication.
   */
  unboxKey(boxed: string): Buffer | undefined
}

/**
 * Opens box1 messages addressed to `identity`. The methods do not use `this`, so they may be
 * passed around detached.
 */
export function createUnboxer(identity: Identity): Unboxer {
  // Derived once: this runs for every private message during bulk indexing.
  const curveSecret = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(curveSecret, identity.secretKey)
  // Scratch space is safe to share across calls: everything here is synchronous and only
  // unboxKey's result escapes, which gets its own buffer.
  const shared = Buffer.alloc(32)
  const slotKey = Buffer.alloc(UNBOX_KEY_BYTES)

  return {
    unbox(boxed) {
      const bytes = decodeBox1(boxed)
      if (bytes === undefined || !openKey(bytes, curveSecret, shared, slotKey)) return undefined
      return openBody(bytes, slotKey)
    },
    unboxKey(boxed) {
      const bytes = decodeBox1(boxed)
      if (bytes === undefined) return undefined
      const key = Buffer.alloc(UNBOX_KEY_BYTES)
      return openKey(bytes, curveSecret, shared, key) ? key : undefined
    },
  }
}

/** Opens a box1 string with a key from `unboxKey` (or ssb-keys' unboxKey); never throws. */
export function unboxWithKey(boxed: string, key: Buffer): unknown {
  if (!(key instanceof Uint8Array) || key.length !== UNBOX_KEY_BYTES) return undefined
  const bytes = decodeBox1(boxed)
  return bytes === undefined ? undefined : openBody(bytes, key)
}

/**
 * private-box's multibox_open_key: it tries slots 0..7 (one more than the recipient limit)
 * and gives up once a slot would reach into the body's last 16 bytes. Mirrored exactly so
 * that we open precisely the boxes ssb-keys opens.
 */
function openKey(bytes: Buffer, curveSecret: Buffer, shared: Buffer, out: Buffer): boolean {
  try {
    sodium.crypto_scalarmult(shared, curveSecret, bytes.subarray(NONCE_BYTES, HEADER_BYTES))
  } catch {
    // A low-order one-time key makes libsodium refuse; ssb-keys throws there too.
    return false
  }
  const nonce = bytes.subarray(0, NONCE_BYTES)
  for (let slot = 0; slot <= MAX_RECIPIENTS; slot++) {
    const start = HEADER_BYTES + slot * SLOT_BYTES
    if (start + SLOT_BYTES > bytes.length - MAC_BYTES) return false
    if (sodium.crypto_secretbox_open_easy(out, bytes.subarray(start, start + SLOT_BYTES), nonce, shared)) return true
  }
  return false
}

function openBody(bytes: Buffer, countAndKey: Uint8Array): unknown {
  // The count byte is authenticated by the slot's MAC but a stored key may be corrupt.
  const start = HEADER_BYTES + countAndKey[0]! * SLOT_BYTES
  if (start + MAC_BYTES > bytes.length) return undefined
  // Decrypted in place: `bytes` was decoded for this call alone, and libsodium verifies the
  // MAC before it moves anything and supports overlapping input and output.
  const plaintext = bytes.subarray(start, bytes.length - MAC_BYTES)
  const opened = sodium.crypto_secretbox_open_easy(plaintext, bytes.subarray(start), bytes.subarray(0, NONCE_BYTES), countAndKey.subarray(1))
  if (!opened) return undefined
  try {
    // toString('utf8') replaces invalid sequences rather than throwing, as ssb-keys' `"" + msg` does.
    return JSON.parse(plaintext.toString('utf8'))
  } catch {
    return undefined
  }
}
