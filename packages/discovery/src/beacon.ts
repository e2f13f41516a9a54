// The two UDP beacons ssb-lan (and, for the legacy one, ssb-local before it) broadcasts,
// byte for byte. Parsers never throw: every packet they see comes from anyone on the LAN.
import sodium from 'sodium-native'
import { capsKey, feedPublicKey, sign, verify, type Identity, type NetShsAddress } from '@hearsay/keys'
import { parseLanAddress } from './address.ts'
import { DiscoveryOptionsError, InvalidBeaconError } from './errors.ts'

/** ssb-local's port, kept by ssb-lan for its legacy mode. */
export const LEGACY_PORT = 8008
/** ssb-lan's own port (its `port.js`) for encrypted beacons. */
export const ENCRYPTED_PORT = 26830
/** ssb-lan sends both beacons together, every 2 seconds. */
export const BEACON_INTERVAL = 2000
/**
 * Larger packets are dropped unread. A beacon is one address (~70 bytes; ~150 for a
 * `net;ws` pair, plus 80 of box and signature when encrypted), so this leaves ample room
 * while bounding the work a flood of junk can cost us.
 */
export const MAX_BEACON_BYTES = 1024

const SIGNATURE_BYTES = 64
const MAC_BYTES = 16
// The smallest plaintext, `{"address":""}`, boxed, plus the signature.
const MIN_ENCRYPTED_BYTES = MAC_BYTES + '{"address":""}'.length + SIGNATURE_BYTES
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A caps key as its 32 bytes; given as canonical base64 or as bytes. */
export function decodeCaps(caps: string | Uint8Array): Buffer {
  try {
    return capsKey(caps)
  } catch {
    throw new DiscoveryOptionsError('caps must be 32 bytes, given as canonical base64 or bytes')
  }
}

function checkAddress(address: string): NetShsAddress {
  const parsed = parseLanAddress(address)
  if (!parsed) throw new InvalidBeaconError(`not a net:IP:PORT~shs:KEY address: ${JSON.stringify(address.slice(0, 200))}`)
  if (!/^[\x21-\x7e]+$/.test(address)) throw new InvalidBeaconError('a beacon address must be printable ASCII')
  return parsed
}

/** The legacy beacon: the multiserver address as plain UTF-8 text, nothing else. */
export function encodeLegacyBeacon(address: string): Buffer {
  checkAddress(address)
  const bytes = Buffer.from(address, 'utf8')
  if (bytes.length > MAX_BEACON_BYTES) throw new InvalidBeaconError(`a beacon must fit in ${MAX_BEACON_BYTES} bytes`)
  return bytes
}

/**
 * The address a legacy beacon announces, or null for anything else. Nothing in it is
 * signed, so its key is only a claim: the handshake on connecting is what proves it.
 */
export function parseLegacyBeacon(packet: Uint8Array): NetShsAddress | null {
  if (packet.length === 0 || packet.length > MAX_BEACON_BYTES) return null
  // Multiserver addresses are printable ASCII; checking bytes first also rules out
  // non-UTF-8 that Buffer#toString would quietly turn into U+FFFD.
  for (const byte of packet) if (byte < 0x21 || byte > 0x7e) return null
  return parseLanAddress(Buffer.from(packet).toString('latin1'))
}

// ssb-keys' signObj/verifyObj sign the object pretty-printed with two spaces; ssb-lan signs
// `{ address }` that way, so that is the exact byte string our signatures must cover.
function signedBytes(address: string): Buffer {
  return Buffer.from(JSON.stringify({ address }, null, 2), 'utf8')
}

// ssb-keys' secretBox: the nonce is the first 24 bytes of the key itself, so every beacon
// on a network shares one key and one nonce. That is ssb-lan's wire format and we must
// match it to interoperate; it means the box hides nothing from anyone holding the caps
// (and, by nonce reuse, little from anyone who doesn't) — the signature is what counts.
function secretboxNonce(key: Buffer): Buffer {
  return key.subarray(0, sodium.crypto_secretbox_NONCEBYTES)
}

/**
 * The encrypted beacon: `secretbox(JSON {address}, key = caps, nonce = caps[0..24])`
 * followed by the 64-byte ed25519 signature of `{address}` (ssb-keys' signObj form) by
 * the key the address names. `address` must name `identity`'s own key.
 */
export function encodeEncryptedBeacon(address: string, identity: Identity, caps: string | Uint8Array): Buffer {
  const parsed = checkAddress(address)
  if (parsed.key !== identity.id) throw new InvalidBeaconError(`the address names ${parsed.key}, not the signing identity ${identity.id}`)
  const key = decodeCaps(caps)
  const plaintext = Buffer.from(JSON.stringify({ address }), 'utf8')
  const ciphertext = Buffer.alloc(plaintext.length + sodium.crypto_secretbox_MACBYTES)
  sodium.crypto_secretbox_easy(ciphertext, plaintext, secretboxNonce(key), key)
  const packet = Buffer.concat([ciphertext, sign(identity, signedBytes(address))])
  if (packet.length > MAX_BEACON_BYTES) throw new InvalidBeaconError(`a beacon must fit in ${MAX_BEACON_BYTES} bytes`)
  return packet
}

/**
 * The address an encrypted beacon announces, or null unless it opens with `caps` (so it
 * comes from our network), holds a usable address, and is signed by that address's key.
 * ssb-lan passes on unsigned ones marked `verified: false`; we drop them, since a beacon
 * signed by nobody is no better than a legacy one and a forged one is worse.
 */
export function parseEncryptedBeacon(packet: Uint8Array, caps: string | Uint8Array): NetShsAddress | null {
  if (packet.length < MIN_ENCRYPTED_BYTES || packet.length > MAX_BEACON_BYTES) return null
  const key = decodeCaps(caps)
  const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.length)
  const ciphertext = bytes.subarray(0, bytes.length - SIGNATURE_BYTES)
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES)

  const plaintext = Buffer.alloc(ciphertext.length - sodium.crypto_secretbox_MACBYTES)
  if (!sodium.crypto_secretbox_open_easy(plaintext, ciphertext, secretboxNonce(key), key)) return null

  let body: unknown
  try {
    body = JSON.parse(utf8.decode(plaintext))
  } catch {
    return null
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null
  const address = (body as { address?: unknown }).address
  if (typeof address !== 'string') return null

  const parsed = parseLanAddress(address)
  if (!parsed) return null
  // The signature covers the whole announced string; it must be by the key we will dial.
  if (!verify(feedPublicKey(parsed.key), signature, signedBytes(address))) return null
  return parsed
}
