import { test } from 'node:test'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import { fixtureMessages } from '@hearsay/test-fixtures'
import { encodeValue, messageIdOf, verifyMessage, type MessageValue } from '@hearsay/message'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { decodeLogEntry, encodeLogEntry, packRefs, unpackRefs } from './log-codec.ts'
import { signChain } from './test-helpers.ts'

/** Feed numbers as a store gives them: in order of first appearance. */
const feedNumbers = new Map<string, number>()
const feedsByNumber: FeedId[] = []
function encode(message: { value: MessageValue; timestamp: number }): Buffer {
  let number = feedNumbers.get(message.value.author)
  if (number === undefined) {
    number = feedsByNumber.push(message.value.author) - 1
    feedNumbers.set(message.value.author, number)
  }
  return encodeLogEntry(message, number)
}
const decode = (offset: number, raw: Buffer) => decodeLogEntry(offset, raw, (number) => feedsByNumber[number]!)

test('every fixture message survives the log encoding byte-for-byte, and still verifies', async () => {
  let count = 0
  let jsonBytes = 0
  let storedBytes = 0
  for await (const message of fixtureMessages('10k')) {
    const encoded = encode(message)
    const decoded = decode(7, encoded)
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
    const decoded = decode(1, encode(variant))
    assert.equal(encodeValue(decoded.value), encodeValue(variant.value))
    assert.equal(decoded.timestamp, variant.timestamp)
  }
  assert.equal(messageIdOf(decode(1, encode({ value, timestamp: 1 })).value), message!.key)
})

test('refs inside content are stored as raw bytes, and the JSON text comes back exactly', () => {
  const msg = '%x9ifVt4f8AL65zWcovXh9MUCj8dkbZuSg/RqgyMsirk=.sha256'
  const feed = '@AMin1o9HGin7n0DxrQKyShe1B14Z6U77jlLDiQ5dS+8=.ed25519'
  const blob = '&S7+CwHM6dZ9si5Vn4ftpk/l/ldbRMqzzJos+spZbWf4=.sha256'
  // Last base64 character with unused bits set: decodes, but would not encode back the same.
  const notCanonical = '%x9ifVt4f8AL65zWcovXh9MUCj8dkbZuSg/RqgyMsirl=.sha256'
  const cases: unknown[] = [
    { type: 'vote', vote: { link: msg, value: 1 } },
    { type: 'post', text: `quoted "${msg}" and ${feed} in text`, root: msg, branch: [msg, msg], mentions: [{ link: feed }, { link: blob }] },
    { [msg]: feed, [feed]: [blob, blob, notCanonical], ünï: `ç${msg}` },
    { a: notCanonical, b: '%short=.sha256', c: '.sha256".ed25519"', d: `@${msg.slice(1, 45)}.sha256`, e: '\u0001\u0002\u0003\u0000' },
    [msg, feed, blob],
  ]
  for (const content of cases) {
    const json = JSON.stringify(content)
    const packed = packRefs(json)
    assert.equal(unpackRefs(packed), json)
  }
  assert.equal(packRefs(JSON.stringify(cases[0])).length, Buffer.byteLength(JSON.stringify(cases[0])) - 21, 'a 54-byte quoted ref takes 33')
  assert.equal(packRefs(JSON.stringify(cases[3])).toString('utf8'), JSON.stringify(cases[3]), 'nothing that is not a canonical ref is packed')
})

test('a log entry whose packed content is cut short or holds a stray byte is an error, not a wrong message', () => {
  const packed = packRefs(JSON.stringify({ type: 'vote', vote: { link: '%x9ifVt4f8AL65zWcovXh9MUCj8dkbZuSg/RqgyMsirk=.sha256' } }))
  const marker = packed.indexOf(1)
  assert.throws(() => unpackRefs(packed.subarray(0, marker + 20)), /damaged ref at byte/)
  assert.throws(() => unpackRefs(Buffer.concat([Buffer.from('{"a":'), Buffer.of(0), Buffer.from('1}')])), /damaged ref at byte 5/)
})

test('every valid case of ssb-validation-dataset comes back from the log with its own id', () => {
  const dataset = createRequire(import.meta.url)('ssb-validation-dataset') as Array<{ message: MessageValue; valid: boolean; id: string | null }>
  const valid = dataset.filter((c) => c.valid)
  assert.ok(valid.length >= 27, `${valid.length} valid cases`)
  for (const { message, id } of valid) {
    const decoded = decode(1, encode({ value: message, timestamp: 1 }))
    assert.equal(encodeValue(decoded.value), encodeValue(message))
    assert.equal(decoded.key, id)
  }
})
