import sodium from 'sodium-native'
import { feedPublicKey, InvalidRefError, type FeedId } from '@hearsay/keys'
import { Box1Error } from './errors.ts'
import {
  BODY_KEY_BYTES, BOX_SUFFIX, HEADER_BYTES, MAC_BYTES, MAX_RECIPIENTS, NONCE_BYTES, SLOT_BYTES, UNBOX_KEY_BYTES,
} from './format.ts'

/**
 * Encrypts `content` so that only `recipients` can read it, in the form ssb-keys' `box`
 * produces. The author is not added implicitly: include your own id to read it back.
 */
export function boxContent(content: object, recipients: readonly FeedId[]): string {
  const curveKeys = recipientCurveKeys(recipients)
  const plaintext = encodeContent(content)

  const boxed = Buffer.allocUnsafe(HEADER_BYTES + curveKeys.length * SLOT_BYTES + plaintext.length + MAC_BYTES)
  const nonce = boxed.subarray(0, NONCE_BYTES)
  const onetimeSecret = Buffer.alloc(32)
  const countAndKey = Buffer.alloc(UNBOX_KEY_BYTES)
  const shared = Buffer.alloc(32)
  try {
    sodium.randombytes_buf(nonce)
    sodium.crypto_box_keypair(boxed.subarray(NONCE_BYTES, HEADER_BYTES), onetimeSecret)
    countAndKey[0] = curveKeys.length
    sodium.randombytes_buf(countAndKey.subarray(1))
    let offset = HEADER_BYTES
    for (const curveKey of curveKeys) {
      // private-box uses the raw X25519 output as the slot key (no hashing, unlike crypto_box).
      sodium.crypto_scalarmult(shared, onetimeSecret, curveKey)
      sodium.crypto_secretbox_easy(boxed.subarray(offset, offset + SLOT_BYTES), countAndKey, nonce, shared)
      offset += SLOT_BYTES
    }
    // Every slot and the body share one nonce; that is safe only because each key is fresh.
    sodium.crypto_secretbox_easy(boxed.subarray(offset), plaintext, nonce, countAndKey.subarray(1, 1 + BODY_KEY_BYTES))
  } finally {
    // Whoever holds the one-time secret or the body key can read the message forever.
    sodium.sodium_memzero(onetimeSecret)
    sodium.sodium_memzero(countAndKey)
    sodium.sodium_memzero(shared)
  }
  return boxed.toString('base64') + BOX_SUFFIX
}

function recipientCurveKeys(recipients: readonly FeedId[]): Buffer[] {
  if (!Array.isArray(recipients)) throw new Box1Error('recipients must be an array of feed ids', 'EBOXRECIPIENTS')
  // Feed ids are canonical (feedPublicKey refuses any other spelling), so equal keys are equal strings.
  const unique = [...new Set<unknown>(recipients)]
  if (unique.length === 0) {
    throw new Box1Error('a private message needs at least one recipient (include your own id to read it back)', 'EBOXRECIPIENTS')
  }
  if (unique.length > MAX_RECIPIENTS) {
    throw new Box1Error(
      `box1 can address at most ${MAX_RECIPIENTS} recipients, got ${unique.length} distinct ones`,
      'EBOXRECIPIENTS',
    )
  }
  return unique.map((id) => {
    const edKey = feedPublicKey(id)
    const curveKey = Buffer.alloc(32)
    try {
      sodium.crypto_sign_ed25519_pk_to_curve25519(curveKey, edKey)
    } catch {
      // Well-formed base64 of 32 bytes, but not a point anyone could hold the secret for.
      throw new InvalidRefError(`feed id does not name a usable ed25519 public key: ${String(id)}`)
    }
    return curveKey
  })
}

function encodeContent(content: object): Buffer {
  if (content === null || typeof content !== 'object') {
    throw new Box1Error(`boxed content must be an object, got ${content === null ? 'null' : typeof content}`, 'EBOXCONTENT')
  }
  let json: string | undefined
  try {
    json = JSON.stringify(content) as string | undefined
  } catch (err) {
    throw new Box1Error('boxed content cannot be serialised as JSON', 'EBOXCONTENT', { cause: err })
  }
  // A toJSON() returning undefined would otherwise box the text "undefined", which nobody can parse.
  if (json === undefined) throw new Box1Error('boxed content serialises to nothing', 'EBOXCONTENT')
  return Buffer.from(json, 'utf8')
}
