import sodium from 'sodium-native'
import { toFeedId, feedPublicKey, type FeedId } from './refs.ts'

/** An ed25519 keypair and the feed id it signs for. */
export interface Identity {
  readonly id: FeedId
  readonly publicKey: Buffer
  /** libsodium's 64-byte secret key: seed ‖ public key. */
  readonly secretKey: Buffer
}

export function generateIdentity(seed?: Uint8Array): Identity {
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
  if (seed) {
    if (seed.length !== sodium.crypto_sign_SEEDBYTES) throw new RangeError(`seed must be ${sodium.crypto_sign_SEEDBYTES} bytes`)
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  } else {
    sodium.crypto_sign_keypair(publicKey, secretKey)
  }
  return { id: toFeedId(publicKey), publicKey, secretKey }
}

/** Rebuilds an identity from a 64-byte secret key, checking its embedded public key. */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  if (secretKey.length !== sodium.crypto_sign_SECRETKEYBYTES) throw new RangeError('secret key must be 64 bytes')
  const fromSeed = generateIdentity(secretKey.subarray(0, sodium.crypto_sign_SEEDBYTES))
  if (!fromSeed.secretKey.equals(secretKey)) throw new RangeError('secret key does not match its own public half')
  return fromSeed
}

export function sign(identity: Identity, bytes: Uint8Array): Buffer {
  const signature = Buffer.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(signature, bytes, identity.secretKey)
  return signature
}

export function verify(publicKey: Uint8Array, signature: Uint8Array, bytes: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(signature, bytes, publicKey)
}

export function verifyFeed(author: FeedId, signature: Uint8Array, bytes: Uint8Array): boolean {
  return verify(feedPublicKey(author), signature, bytes)
}
