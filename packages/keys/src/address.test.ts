import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAIN_NETWORK_CAPS, capsKey, formatNetShsAddress, generateIdentity, parseNetShsAddress } from './index.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))
const key = alice.publicKey.toString('base64')

test('a net:HOST:PORT~shs:KEY address round trips, and the first net part of a list is taken', () => {
  const address = formatNetShsAddress('example.org', 8008, alice.id)
  assert.equal(address, `net:example.org:8008~shs:${key}`)
  assert.deepEqual(parseNetShsAddress(address), { address, host: 'example.org', port: 8008, key: alice.id })
  assert.equal(parseNetShsAddress(`ws://x:80~shs:${key};${address}`)?.address, address)
  assert.equal(parseNetShsAddress(`net:[::1]:9~shs:${key}`)?.host, '[::1]')
})

test('malformed addresses are not addresses', () => {
  for (const text of [
    '', 'net:host:8008', `net:host:0~shs:${key}`, `net:host:08008~shs:${key}`, `net:host:65536~shs:${key}`,
    `net::8008~shs:${key}`, `net:host:8008~shs:${key.slice(0, -1)}`, `net:host:8008~shs:${key}:seed`,
    `net:host:8008~noauth:${key}`, `tcp:host:8008~shs:${key}`,
  ]) assert.equal(parseNetShsAddress(text), null, text)
})

test('caps keys are 32 bytes of canonical base64, the main network by default', () => {
  assert.equal(capsKey().toString('base64'), MAIN_NETWORK_CAPS)
  assert.equal(capsKey(Buffer.alloc(32, 7)).length, 32)
  for (const bad of ['', 'not base64!', Buffer.alloc(31).toString('base64'), MAIN_NETWORK_CAPS.replace('=', '')]) {
    assert.throws(() => capsKey(bad), RangeError, bad)
  }
})
