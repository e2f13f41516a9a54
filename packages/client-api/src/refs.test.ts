// The reference shapes the API's checks and the UI share, against ids made by ssb-keys (the
// network's own library) and against near misses: a non-canonical last character, a wrong sigil
// or algorithm, lengths off by one, padding, whitespace and values that are not strings at all.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { isBlobIdShape, isFeedIdShape, isMessageIdShape, shortId, sigilInText } from './refs.ts'

const ssbKeys = createRequire(import.meta.url)('ssb-keys') as { generate(): { id: string }; hash(data: string | Buffer): string }

test("ids made by ssb-keys are recognised, each by its own check only", () => {
  for (let i = 0; i < 20; i++) {
    const feed = ssbKeys.generate().id
    const message = `%${ssbKeys.hash(`message ${i}`)}`
    const blob = `&${ssbKeys.hash(Buffer.from([i, 1, 2]))}`
    assert.deepEqual([isFeedIdShape(feed), isMessageIdShape(feed), isBlobIdShape(feed)], [true, false, false], feed)
    assert.deepEqual([isFeedIdShape(message), isMessageIdShape(message), isBlobIdShape(message)], [false, true, false], message)
    assert.deepEqual([isFeedIdShape(blob), isMessageIdShape(blob), isBlobIdShape(blob)], [false, false, true], blob)
  }
})

test('every 32 bytes make a recognised id; a last character that decodes to other bytes does not', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 3 }), (bytes, nudge) => {
      const key = Buffer.from(bytes).toString('base64')
      assert.ok(isFeedIdShape(`@${key}.ed25519`) && isMessageIdShape(`%${key}.sha256`) && isBlobIdShape(`&${key}.sha256`), key)
      // The 43rd character carries 2 bits and 4 zero bits; setting one of those makes a non-canonical key.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
      const last = alphabet[alphabet.indexOf(key[42]!) + nudge]!
      const skewed = `${key.slice(0, 42)}${last}=`
      assert.ok(!isFeedIdShape(`@${skewed}.ed25519`) && !isMessageIdShape(`%${skewed}.sha256`) && !isBlobIdShape(`&${skewed}.sha256`), skewed)
    }),
  )
})

test('near misses and non-strings are refused', () => {
  const key = `${'A'.repeat(42)}E=`
  assert.ok(isFeedIdShape(`@${key}.ed25519`), 'control')
  for (const bad of [
    `@${'A'.repeat(43)}.ed25519`, // no padding
    `@${'A'.repeat(41)}E=.ed25519`, // 42 characters
    `@${'A'.repeat(43)}E=.ed25519`, // 44 characters
    `@${'A'.repeat(42)}E==.ed25519`,
    `@${key}.sha256`,
    `%${key}.ed25519`,
    `@${key}.ed25519 `,
    ` @${key}.ed25519`,
    `@${key}.ed25519\n`,
    `@${'A'.repeat(41)}-E=.ed25519`, // base64url
    `@${key}.ed25519.ed25519`,
    '',
  ]) {
    assert.equal(isFeedIdShape(bad), false, JSON.stringify(bad))
  }
  assert.equal(isMessageIdShape(`&${key}.sha256`), false)
  assert.equal(isBlobIdShape(`%${key}.sha256`), false)
  for (const value of [null, undefined, 42, {}, [`@${key}.ed25519`], { toString: () => `@${key}.ed25519` }]) {
    assert.deepEqual([isFeedIdShape(value), isMessageIdShape(value), isBlobIdShape(value)], [false, false, false], String(value))
  }
})

test('sigilInText finds every ref in running text, and using it leaves it as it was', () => {
  const feed = ssbKeys.generate().id
  const message = `%${ssbKeys.hash('m')}`
  const blob = `&${ssbKeys.hash('b')}`
  const text = `hi ${feed}, see [this](${message}) and ![pic](${blob}); not @${'A'.repeat(43)}.ed25519`
  assert.deepEqual([...text.matchAll(sigilInText)].map((match) => match[0]), [feed, message, blob])
  assert.deepEqual([...text.matchAll(sigilInText)].map((match) => match[0]), [feed, message, blob], 'the same again')
  assert.equal(sigilInText.lastIndex, 0)
})

test('shortId is the sigil and first eight characters, then an ellipsis', () => {
  const feed = `@BBBBBBBBCC${'A'.repeat(32)}E=.ed25519`
  assert.equal(shortId(feed), '@BBBBBBBB…')
  assert.equal(shortId(`%${ssbKeys.hash('x')}`), `%${ssbKeys.hash('x').slice(0, 8)}…`)
})
