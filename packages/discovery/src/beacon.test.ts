import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import { MAIN_NETWORK_CAPS, formatNetShsAddress, generateIdentity, sign, type Identity } from '@hearsay/keys'
import {
  ENCRYPTED_PORT, LEGACY_PORT, MAX_BEACON_BYTES,
  DiscoveryOptionsError, InvalidBeaconError,
  decodeCaps, encodeEncryptedBeacon, encodeLegacyBeacon, parseEncryptedBeacon, parseLegacyBeacon,
} from './index.ts'
import { SsbLanCodec } from './testing/ssb-lan.ts'

const caps = decodeCaps(MAIN_NETWORK_CAPS)
const otherCaps = Buffer.alloc(32, 7)
const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))
const keyOf = (identity: Identity) => identity.publicKey.toString('base64')
const aliceAddress = formatNetShsAddress('192.168.1.5', 8008, alice.id)

// A reference ssb-lan instance that hears beacons as `identity` (it drops its own).
const ssbLan = (identity: Identity, address = formatNetShsAddress('192.168.1.9', 8008, identity.id), withCaps = caps) =>
  new SsbLanCodec({ identity, caps: withCaps, address })

// Boxes any plaintext the way ssb-lan does, so hostile packets can get past the caps check.
function boxed(plaintext: string | Buffer, signature: Buffer = Buffer.alloc(64), key: Buffer = caps): Buffer {
  const message = Buffer.from(plaintext)
  const ciphertext = Buffer.alloc(message.length + sodium.crypto_secretbox_MACBYTES)
  sodium.crypto_secretbox_easy(ciphertext, message, key.subarray(0, 24), key)
  return Buffer.concat([ciphertext, signature])
}

test('the ports and caps are ssb-lan\'s own', () => {
  assert.equal(LEGACY_PORT, 8008)
  assert.equal(ENCRYPTED_PORT, 26830)
  assert.equal(caps.length, 32)
})

test('our legacy beacon is byte for byte what ssb-lan sends, and each side reads the other\'s', () => {
  const ours = encodeLegacyBeacon(aliceAddress)
  assert.equal(ours.toString(), `net:192.168.1.5:8008~shs:${keyOf(alice)}`)
  assert.deepEqual(ours, ssbLan(alice, aliceAddress).encodeLegacy())

  assert.deepEqual(ssbLan(bob).readLegacy(ours), { address: aliceAddress, verified: false })
  assert.deepEqual(parseLegacyBeacon(ssbLan(alice, aliceAddress).encodeLegacy()), {
    address: aliceAddress, host: '192.168.1.5', port: 8008, key: alice.id,
  })
})

test('our encrypted beacon is byte for byte what ssb-lan sends, and each side verifies the other\'s', () => {
  const ours = encodeEncryptedBeacon(aliceAddress, alice, caps)
  // Deterministic on both sides: ssb-lan's nonce is fixed (the caps' first 24 bytes) and
  // ed25519 signatures are deterministic, so equal bytes mean an equal format.
  assert.deepEqual(ours, ssbLan(alice, aliceAddress).encodeEncrypted())
  assert.equal(ours.length, sodium.crypto_secretbox_MACBYTES + JSON.stringify({ address: aliceAddress }).length + 64)

  assert.deepEqual(ssbLan(bob).readEncrypted(ours), { address: aliceAddress, verified: true })
  assert.deepEqual(parseEncryptedBeacon(ssbLan(alice, aliceAddress).encodeEncrypted(), caps), {
    address: aliceAddress, host: '192.168.1.5', port: 8008, key: alice.id,
  })
  assert.deepEqual(parseEncryptedBeacon(ours, MAIN_NETWORK_CAPS)?.key, alice.id, 'caps as base64 too')
})

test('a private network\'s caps keep the two networks apart, in both directions', () => {
  const ours = encodeEncryptedBeacon(aliceAddress, alice, otherCaps)
  assert.equal(ssbLan(bob).readEncrypted(ours), undefined, 'main-network ssb-lan ignores it')
  assert.deepEqual(ssbLan(bob, undefined, otherCaps).readEncrypted(ours), { address: aliceAddress, verified: true })
  assert.equal(parseEncryptedBeacon(ssbLan(alice, aliceAddress).encodeEncrypted(), otherCaps), null)
  assert.equal(parseEncryptedBeacon(ssbLan(alice, aliceAddress, otherCaps).encodeEncrypted(), otherCaps)?.key, alice.id)
})

test('of a multi-address announcement we take the net part; the signature covers all of it', () => {
  const multi = `${aliceAddress};ws://192.168.1.5:8989~shs:${keyOf(alice)}`
  const wsFirst = `ws://192.168.1.5:8989~shs:${keyOf(alice)};${aliceAddress}`
  for (const announced of [multi, wsFirst]) {
    const reference = ssbLan(alice, announced)
    const expected = { address: aliceAddress, host: '192.168.1.5', port: 8008, key: alice.id }
    assert.deepEqual(parseLegacyBeacon(reference.encodeLegacy()), expected)
    assert.deepEqual(parseEncryptedBeacon(reference.encodeEncrypted(), caps), expected)
  }
  const ours = encodeEncryptedBeacon(multi, alice, caps)
  assert.deepEqual(ssbLan(bob).readEncrypted(ours), { address: multi, verified: true })
})

test('beacons round-trip for many identities, hosts and ports', () => {
  const hosts = ['10.0.0.1', '172.16.254.3', '192.168.0.255', '127.0.0.1', 'fe80::1', '2001:db8::8:800:200c:417a']
  for (let i = 0; i < 40; i++) {
    const identity = generateIdentity(randomBytes(32))
    const host = hosts[i % hosts.length]!
    const port = 1 + ((i * 7919) % 65535)
    const address = formatNetShsAddress(host, port, identity.id)
    const expected = { address, host, port, key: identity.id }
    assert.deepEqual(parseLegacyBeacon(encodeLegacyBeacon(address)), expected)
    assert.deepEqual(parseEncryptedBeacon(encodeEncryptedBeacon(address, identity, caps), caps), expected)
  }
})

test('hostile legacy packets are ignored, including ones ssb-lan accepts', () => {
  const key = keyOf(alice)
  // The last character carries two unused bits, which canonical base64 leaves zero: set one.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const nonCanonical = `${key.slice(0, 42)}${alphabet[alphabet.indexOf(key[42]!) + 1]}=`
  assert.deepEqual(Buffer.from(nonCanonical, 'base64'), alice.publicKey, 'the same key, spelled differently')
  const reference = ssbLan(bob)
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['garbage', randomBytes(200)],
    ['huge', Buffer.from(`${aliceAddress};`.repeat(Math.ceil((MAX_BEACON_BYTES + 1) / aliceAddress.length)))],
    ['non-UTF-8', Buffer.concat([Buffer.from(aliceAddress), Buffer.from([0xff, 0xfe])])],
    ['NUL inside', Buffer.from(`net:192.168.1.5:8008\0~shs:${key}`)],
    ['trailing newline', Buffer.from(`${aliceAddress}\n`)],
    ['short key', Buffer.from('net:192.168.1.5:8008~shs:abc')],
    ['non-canonical key', Buffer.from(`net:192.168.1.5:8008~shs:${nonCanonical}`)],
    ['feed id instead of key', Buffer.from(`net:192.168.1.5:8008~shs:${alice.id}`)],
    ['invite (shs with a seed)', Buffer.from(`${aliceAddress}:${key}`)],
    ['websocket only', Buffer.from(`ws://192.168.1.5:8989~shs:${key}`)],
    ['port 0', Buffer.from(`net:192.168.1.5:0~shs:${key}`)],
    ['port 65536', Buffer.from(`net:192.168.1.5:65536~shs:${key}`)],
    ['port with a leading zero', Buffer.from(`net:192.168.1.5:08008~shs:${key}`)],
    ['host name', Buffer.from(`net:example.com:8008~shs:${key}`)],
    ['unspecified host', Buffer.from(`net:0.0.0.0:8008~shs:${key}`)],
    ['multicast host', Buffer.from(`net:224.0.0.251:8008~shs:${key}`)],
    ['broadcast host', Buffer.from(`net:255.255.255.255:8008~shs:${key}`)],
    ['an ssb-local style ip:port:@key', Buffer.from(`192.168.1.5:8008:${alice.id}`)],
  ]
  for (const [name, packet] of cases) {
    assert.equal(parseLegacyBeacon(packet), null, name)
    assert.doesNotThrow(() => reference.readLegacy(packet), name)
  }
  // What we are stricter about than the reference, which only looks for some shs key.
  assert.deepEqual(reference.readLegacy(Buffer.from(`net:192.168.1.5:8008~shs:${nonCanonical}`))?.verified, false)
})

test('hostile encrypted packets are ignored, including one that throws inside ssb-lan', () => {
  const address = aliceAddress
  const signed = (text: string, by: Identity) => sign(by, Buffer.from(JSON.stringify({ address: text }, null, 2)))
  const real = encodeEncryptedBeacon(address, alice, caps)
  const flipped = (index: number) => {
    const copy = Buffer.from(real)
    copy[index]! ^= 1
    return copy
  }
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['garbage', randomBytes(150)],
    ['huge', Buffer.concat([real, Buffer.alloc(MAX_BEACON_BYTES)])],
    ['legacy text on the encrypted port', encodeLegacyBeacon(address)],
    ['wrong caps', encodeEncryptedBeacon(address, alice, otherCaps)],
    ['tampered ciphertext', flipped(20)],
    ['tampered signature', flipped(real.length - 5)],
    ['truncated', real.subarray(0, real.length - 1)],
    ['signed by someone else', boxed(JSON.stringify({ address }), signed(address, bob))],
    ['not signed', boxed(JSON.stringify({ address }))],
    ['not JSON', boxed('net:192.168.1.5:8008', signed(address, alice))],
    ['not UTF-8', boxed(Buffer.from([0x7b, 0xff, 0x7d]), signed(address, alice))],
    ['JSON null', boxed('null')],
    ['JSON array', boxed(JSON.stringify([address]))],
    ['address not a string', boxed(JSON.stringify({ address: 5 }))],
    ['address not an address', boxed(JSON.stringify({ address: 'hello' }), signed('hello', alice))],
    ['short key', boxed(JSON.stringify({ address: 'net:1.2.3.4:8008~shs:abc' }))],
  ]
  const reference = ssbLan(bob)
  for (const [name, packet] of cases) {
    assert.equal(parseEncryptedBeacon(packet, caps), null, name)
    if (name === 'short key') {
      // ssb-lan hands the 2-byte "key" to sodium, which throws; from a socket's 'data'
      // handler that is an uncaught exception. Anyone who knows the caps (the main
      // network's are public) can crash an ssb-lan peer this way.
      assert.throws(() => reference.readEncrypted(packet), /crypto_sign_PUBLICKEYBYTES/)
    }
  }
  // The reference passes unsigned beacons on as unverified; we drop them.
  assert.deepEqual(reference.readEncrypted(boxed(JSON.stringify({ address }))), { address, verified: false })
})

test('encoders refuse what no peer could use', () => {
  const refuse = (fn: () => unknown) => assert.throws(fn, (error: unknown) => error instanceof InvalidBeaconError && error.code === 'EINVALIDBEACON')
  refuse(() => encodeLegacyBeacon('hello'))
  refuse(() => encodeLegacyBeacon(`ws://192.168.1.5:8989~shs:${keyOf(alice)}`))
  refuse(() => encodeLegacyBeacon(`${aliceAddress};wß:x`))
  refuse(() => encodeEncryptedBeacon(aliceAddress, bob, caps)) // signing somebody else's address
  assert.throws(() => encodeEncryptedBeacon(aliceAddress, alice, Buffer.alloc(31)), DiscoveryOptionsError)
  assert.throws(() => decodeCaps('not base64!'), (error: unknown) => (error as DiscoveryOptionsError).code === 'EDISCOVERYOPTIONS')
})
