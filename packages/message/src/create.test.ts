import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { generateIdentity } from '@hearsay/keys'
import {
  createMessage, validateMessage, verifyMessage, signedLength, messageIdOf, encodeValue,
  MessageError, MAX_MESSAGE_LENGTH, type Content, type FeedState, type ValidMessage,
} from './index.ts'

const require = createRequire(import.meta.url)
interface ValidateState { queue: Array<{ key: string; value: unknown }> }
const ssbValidate = require('ssb-validate') as {
  initial(): ValidateState
  append(state: ValidateState, hmacKey: string | null, msg: unknown): ValidateState
  create(state: unknown, keys: object, hmacKey: string | null, content: unknown, timestamp: number): Record<string, unknown>
}
const ssbKeys = require('ssb-keys') as { generate(curve: string, seed: Buffer): object & { id: string } }

const seed = Buffer.alloc(32, 9)
const identity = generateIdentity(seed)

/** Content, or content that depends on where in the feed it lands (for exact sizes). */
type ContentAt = Content | ((previous: FeedState | null) => Content)

function chain(contents: ContentAt[], hmacKey: string | null = null): ValidMessage[] {
  let previous: FeedState | null = null
  return contents.map((contentAt, i) => {
    const content = typeof contentAt === 'function' ? contentAt(previous) : contentAt
    const message = createMessage({ identity, previous, content, timestamp: 1_700_000_000_000 + i, hmacKey })
    previous = { id: message.key, sequence: message.value.sequence, timestamp: message.value.timestamp }
    return message
  })
}

/** A post whose signed encoding, placed after `previous`, is exactly `length` UTF-16 units. */
function postOfLength(length: number, filler = 'x', previous: FeedState | null = null): Content {
  const base = signedLength({
    previous: previous?.id ?? null,
    sequence: (previous?.sequence ?? 0) + 1,
    author: identity.id,
    timestamp: 1_700_000_000_000 + (previous?.sequence ?? 0),
    hash: 'sha256',
    content: { type: 'post', text: '' },
  })
  const room = length - base
  return { type: 'post', text: filler.repeat(Math.floor(room / filler.length)) + 'x'.repeat(room % filler.length) }
}

const awkwardContents: ContentAt[] = [
  { type: 'post', text: 'plain ascii' },
  { type: 'post', text: 'emoji 🎉🦀 and astral 𝄞 𠜎' },
  { type: 'post', text: 'line\u2028separator\u2029paragraph' },
  { type: 'post', text: 'latin1: café naïve Ærøskøbing ÿ ß ¿' },
  { type: 'post', text: 'controls \u0000 \u001f "quotes" \\backslash\\ \ttab\nnewline' },
  { type: 'post', 10: 'ten', 2: 'two', b: 'b', a: 'a', '01': 'not an index' } as Content,
  { type: 'about', about: identity.id, name: 'Zoë', nested: { list: [1, 2.5, -0.001, 1e21, true, null] } },
  { type: 'vote', vote: { link: '%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256', value: 1, expression: '❤️' } },
  'c29tZSBib3hlZCBieXRlcw==.box',
  (previous) => postOfLength(MAX_MESSAGE_LENGTH, 'x', previous),
  (previous) => postOfLength(MAX_MESSAGE_LENGTH, '🎉', previous),
]

test('messages we create are accepted by ssb-validate with the same ids', () => {
  const ours = chain(awkwardContents)
  let state = ssbValidate.initial()
  for (const message of ours) {
    state = ssbValidate.append(state, null, JSON.parse(JSON.stringify(message.value)))
  }
  assert.deepEqual(state.queue.map((kvt) => kvt.key), ours.map((m) => m.key))
  assert.equal(encodeValue(ours.at(-2)!.value).length, MAX_MESSAGE_LENGTH, 'one message sits exactly at the limit')
  assert.equal(encodeValue(ours.at(-1)!.value).length, MAX_MESSAGE_LENGTH, 'and one made of surrogate pairs')
})

test('messages we create validate as a chain on our side, after a JSON round trip', () => {
  let previous: FeedState | null = null
  for (const message of chain(awkwardContents)) {
    const received = JSON.parse(JSON.stringify(message.value)) as unknown
    const valid = validateMessage(previous, received)
    assert.equal(valid.key, message.key)
    assert.equal(valid.key, messageIdOf(received as object))
    previous = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp }
  }
})

test('integer-like keys keep JavaScript order, exactly as peers will re-encode them', () => {
  const [message] = chain([{ type: 'post', 10: 'ten', 2: 'two', b: 'b' } as Content])
  assert.deepEqual(Object.keys(message!.value.content as object), ['2', '10', 'type', 'b'])
})

test('one unit over the limit is refused with a clear error, at creation and at validation', () => {
  assert.throws(
    () => createMessage({ identity, previous: null, content: postOfLength(MAX_MESSAGE_LENGTH + 1), timestamp: 1_700_000_000_000 }),
    (err: unknown) => err instanceof MessageError && err.code === 'EMSG_TOO_LARGE' && /8193 .*limit is 8192 \(1 over\)/.test(err.message),
  )
  // A peer could still send one: sign it as ssb-keys would and check our validator refuses it.
  const keys = ssbKeys.generate('ed25519', seed)
  const oversize = { previous: null, sequence: 1, author: keys.id, timestamp: 1_700_000_000_000, hash: 'sha256', content: postOfLength(MAX_MESSAGE_LENGTH + 1) }
  const signed = require('ssb-keys').signObj(keys, null, oversize) as object
  assert.equal(encodeValue(signed).length, MAX_MESSAGE_LENGTH + 1)
  assert.throws(() => verifyMessage(signed), { code: 'EMSG_TOO_LARGE' })
})

test('a megabytes-long box string from a hostile peer is refused as too large, not a stack overflow', () => {
  const [message] = chain([{ type: 'post', text: 'x' }])
  const hostile = { ...message!.value, content: 'QUFB'.repeat(2_500_000) + '.box' }
  assert.throws(() => verifyMessage(hostile), { code: 'EMSG_TOO_LARGE' })
})

test('content nested deeper than JSON.stringify can recurse is refused as too large, not a stack overflow', () => {
  // Found by the fuzz suite: JSON.parse reads [[[…]]] of any depth from a peer's frame.
  const [message] = chain([{ type: 'post', text: 'x' }])
  const hostile = JSON.parse(`{"type":"post","nested":${'['.repeat(100_000)}${']'.repeat(100_000)}}`) as Content
  assert.throws(() => verifyMessage({ ...message!.value, content: hostile }), { name: 'MessageError', code: 'EMSG_TOO_LARGE' })
})

test('content is refused as too large before encoding only when its encoding could not fit', () => {
  const [message] = chain([{ type: 'post', text: 'x' }])
  const nested = (depth: number): unknown => (depth === 0 ? 0 : [nested(depth - 1)])
  const shapes = [
    ...Array.from({ length: 160 }, (_, depth) => ({ type: 'post', x: nested(depth) })),
    ...[1000, 4000, 8000, 8200, 9000].map((length) => ({ type: 'post', x: new Array(length).fill(0) })),
  ]
  for (const content of shapes) {
    const value = { ...message!.value, content }
    // Unsigned for this content, so anything that fits must get as far as the signature check.
    let code: string | undefined
    try {
      verifyMessage(value)
    } catch (err) {
      code = (err as MessageError).code
    }
    const fits = encodeValue(value).length <= MAX_MESSAGE_LENGTH
    assert.equal(code, fits ? 'EMSG_SIGNATURE' : 'EMSG_TOO_LARGE', `content of ${encodeValue(value).length} units`)
  }
})

test('HMAC-signed messages (private networks) agree with ssb-validate', () => {
  const hmacKey = Buffer.alloc(32, 3).toString('base64')
  const ours = chain(awkwardContents.slice(0, 4), hmacKey)
  let state = ssbValidate.initial()
  for (const message of ours) state = ssbValidate.append(state, hmacKey, message.value)
  assert.deepEqual(state.queue.map((kvt) => kvt.key), ours.map((m) => m.key))
  assert.throws(() => verifyMessage(ours[0]!.value), { code: 'EMSG_SIGNATURE' }, 'without the key it does not verify')
  assert.throws(() => verifyMessage(ours[0]!.value, Buffer.alloc(32, 4)), { code: 'EMSG_SIGNATURE' })
})

test('messages ssb-validate creates pass our validator with the same ids', () => {
  const keys = ssbKeys.generate('ed25519', seed)
  let theirState: { id: string; sequence: number; timestamp: number; queue: never[] } | null = null
  let ourState: FeedState | null = null
  for (const [i, content] of awkwardContents.slice(0, 9).entries()) {
    if (typeof content === 'function') continue
    const msg = ssbValidate.create(theirState, keys, null, content, 1_600_000_000_000 + i)
    const valid = validateMessage(ourState, msg)
    ourState = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp }
    theirState = { id: valid.key, sequence: valid.value.sequence, timestamp: valid.value.timestamp, queue: [] }
  }
  assert.equal(ourState?.sequence, 9)
})

test('a chain is checked: gaps, replays and wrong previous are refused', () => {
  const [first, second, third] = chain(awkwardContents.slice(0, 3))
  const state1: FeedState = { id: first!.key, sequence: 1, timestamp: first!.value.timestamp }
  const state2: FeedState = { id: second!.key, sequence: 2, timestamp: second!.value.timestamp }
  assert.throws(() => validateMessage(null, second!.value), { code: 'EMSG_SEQUENCE' })
  assert.throws(() => validateMessage(state1, third!.value), /expected sequence 2 .* got 3/)
  assert.throws(() => validateMessage(state2, second!.value), { code: 'EMSG_SEQUENCE' })
  assert.throws(() => validateMessage({ ...state1, id: third!.key }, second!.value), { code: 'EMSG_PREVIOUS' })
  assert.equal(validateMessage(state1, second!.value).key, second!.key)
})

test('tampering with any signed field breaks the signature', () => {
  const [message] = chain([{ type: 'post', text: 'original' }])
  const tampered = [
    { ...message!.value, content: { type: 'post', text: 'forged' } },
    { ...message!.value, timestamp: message!.value.timestamp + 1 },
    { ...message!.value, author: generateIdentity().id },
  ]
  for (const value of tampered) assert.throws(() => verifyMessage(value), { code: 'EMSG_SIGNATURE' })
})

test('content that cannot be a message is refused before signing', () => {
  const bad: Array<[unknown, string]> = [
    [{ type: 'ab' }, 'EMSG_TYPE'],
    [{ type: 'x'.repeat(53) }, 'EMSG_TYPE'],
    [{ text: 'no type' }, 'EMSG_TYPE'],
    [['post'], 'EMSG_CONTENT'],
    ['not boxed', 'EMSG_CONTENT'],
    [null, 'EMSG_CONTENT'],
  ]
  for (const [content, code] of bad) {
    assert.throws(() => createMessage({ identity, previous: null, content: content as Content, timestamp: 1 }), { code }, JSON.stringify(content))
  }
  assert.throws(() => createMessage({ identity, previous: null, content: { type: 'post' }, timestamp: Number.NaN }), { code: 'EMSG_TIMESTAMP' })
})
