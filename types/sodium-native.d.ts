// sodium-native ships no typings; these cover only the functions Hearsay calls.
declare module 'sodium-native' {
  type Bytes = Buffer | Uint8Array

  export const crypto_sign_PUBLICKEYBYTES: number
  export const crypto_sign_SECRETKEYBYTES: number
  export const crypto_sign_SEEDBYTES: number
  export const crypto_sign_BYTES: number
  export const crypto_hash_sha256_BYTES: number
  export const crypto_hash_sha256_STATEBYTES: number
  export const crypto_auth_BYTES: number
  export const crypto_auth_KEYBYTES: number
  export const crypto_box_PUBLICKEYBYTES: number
  export const crypto_box_SECRETKEYBYTES: number
  export const crypto_scalarmult_BYTES: number
  export const crypto_secretbox_NONCEBYTES: number
  export const crypto_secretbox_KEYBYTES: number
  export const crypto_secretbox_MACBYTES: number

  export function crypto_sign_keypair(publicKey: Bytes, secretKey: Bytes): void
  export function crypto_sign_seed_keypair(publicKey: Bytes, secretKey: Bytes, seed: Bytes): void
  export function crypto_sign_detached(signature: Bytes, message: Bytes, secretKey: Bytes): void
  export function crypto_sign_verify_detached(signature: Bytes, message: Bytes, publicKey: Bytes): boolean
  export function crypto_sign_ed25519_pk_to_curve25519(curvePublicKey: Bytes, edPublicKey: Bytes): void
  export function crypto_sign_ed25519_sk_to_curve25519(curveSecretKey: Bytes, edSecretKey: Bytes): void

  export function crypto_hash_sha256(out: Bytes, input: Bytes): void
  export function crypto_hash_sha256_init(state: Bytes): void
  export function crypto_hash_sha256_update(state: Bytes, input: Bytes): void
  export function crypto_hash_sha256_final(state: Bytes, out: Bytes): void

  export function crypto_auth(out: Bytes, input: Bytes, key: Bytes): void

  export function crypto_box_keypair(publicKey: Bytes, secretKey: Bytes): void
  export function crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void
  export function crypto_secretbox_easy(cipher: Bytes, message: Bytes, nonce: Bytes, key: Bytes): void
  export function crypto_secretbox_open_easy(message: Bytes, cipher: Bytes, nonce: Bytes, key: Bytes): boolean

  export function randombytes_buf(buffer: Bytes): void
  export function sodium_memzero(buffer: Bytes): void
}
