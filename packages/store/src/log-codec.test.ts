import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixtureMessages } from '@hearsay/test-fixtures'
import { encodeValue, messageIdOf, verifyMessage, type MessageValue } from '@hearsay/message'
import { generateIdentity } from '@hearsay/keys'
import { decodeLogEntry, encodeLogEntry } from './log-codec.ts'
import { signChain } from './test-helpers.ts'

test('every fixture message survives the log encoding byte-for-byte, and still verifies', async () => {
  let count = 0
  let jsonBytes = 0
  let storedBytes = 0
  for await (const message of fixtureMessages('10k')) {
    const encoded = encodeLogEntry(message)
    const decoded = decodeLogEntry(7, encoded)
    assert.equal(encodeValue(decoded.value), encodeValue(message.value))
    assert.equal(decoded.key, message.key)
    assert.equal(decoded.timestamp, message.timestamp)
    assert.equal(decoded.offset, 7)
    if (count % 500 === 0) assert.equal(verifyMessage(decoded.value).key, message.key)
    jsonBytes += Buffer.byteLength(JSON.stringify(message))
    storedBytes += encoded.length
    count++
  }
  assert.equal(count, 10_000)
  console.log(`log encoding: ${(storedBytes / count).toFixed(0)} B/msg vs ${(jsonBytes / count).toFixed(0)} B/msg as JSON`)
})

test('odd but valid shapes round trip: sequence-first order, float timestamps, non-box strings', () => {
  const [message] = signChain(generateIdentity(Buffer.alloc(32, 5)), [{ type: 'post', text: 'x' }], null, 1_700_000_000_000.25)
  const value = message!.value
  const sequenceFirst = { previous: value.previous, sequence: value.sequence, author: value.author, timestamp: value.timestamp, hash: value.hash, content: value.content, signature: value.signature } as MessageValue
  for (const variant of [
    { key: message!.key, value, timestamp: 1.5 },
    { key: message!.key, value: sequenceFirst, timestamp: -3 },
    { key: message!.key, value: { ...value, content: 'bm90IGNhbm9uaWNhbA.box2' }, timestamp: 2 ** 50 },
    { key: message!.key, value: { ...value, content: '.box' }, timestamp: 0 },
  ]) {
    const decoded = decodeLogEntry(1, encodeLogEntry(variant))
    assert.equal(encodeValue(decoded.value), encodeValue(variant.value))
    assert.equal(decoded.timestamp, variant.timestamp)
  }
  assert.equal(messageIdOf(decodeLogEntry(1, encodeLogEntry({ key: message!.key, value, timestamp: 1 })).value), message!.key)
})
