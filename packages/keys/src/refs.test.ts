import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  isFeedId, isMessageId, isBlobId, feedPublicKey, messageHash, blobHash, decodeSignature,
  toFeedId, toMessageId, toBlobId, toSignatureString, InvalidRefError, decodeCanonicalBase64,
} from './index.ts'

const key = Buffer.alloc(32, 7)
const feed = toFeedId(key)

test('feed, message and blob ids round trip through their bytes', () => {
  assert.equal(feed, `@${key.toString('base64')}.ed25519`)
  assert.ok(isFeedId(feed))
  assert.deepEqual(feedPublicKey(feed), key)
  const msg = toMessageId(key)
  assert.ok(isMessageId(msg) && !isFeedId(msg) && !isBlobId(msg))
  assert.deepEqual(messageHash(msg), key)
  const blob = toBlobId(key)
  assert.ok(isBlobId(blob) && !isMessageId(blob))
  assert.deepEqual(blobHash(blob), key)
  const sig = toSignatureString(Buffer.alloc(64, 1))
  assert.deepEqual(decodeSignature(sig), Buffer.alloc(64, 1))
})

test('non-canonical base64 is rejected everywhere', () => {
  // The last character of a 32-byte key carries 2 unused bits; setting them gives a second
  // spelling of the same bytes, which the network must refuse.
  const canonical = key.toString('base64') // ends in 'c='
  const sloppy = canonical.slice(0, 42) + 'd='
  assert.deepEqual(Buffer.from(sloppy, 'base64'), key, 'Node decodes it leniently')
  assert.equal(decodeCanonicalBase64(sloppy), null)
  assert.equal(isFeedId(`@${sloppy}.ed25519`), false)
  assert.equal(isMessageId(`%${sloppy}.sha256`), false)
  const cases = [
    `@${canonical.replace('=', '')}.ed25519`, // missing padding
    `@${canonical.replace(/B/g, '-')}.ed25519`, // url-safe alphabet
    `@ ${canonical}.ed25519`,
    `@${canonical}.ed25519 `,
    `@${canonical}.sha256`,
    `${canonical}.ed25519`,
    `@${Buffer.alloc(31).toString('base64')}.ed25519`,
    `@${Buffer.alloc(33).toString('base64')}.ed25519`,
  ]
  for (const text of cases) assert.equal(isFeedId(text), false, text)
  assert.equal(decodeSignature(`${Buffer.alloc(64).toString('base64').slice(0, 86)}Ag==.sig.ed25519`), null)
  assert.equal(decodeSignature(`${Buffer.alloc(64).toString('base64')}.sig.ed25519x`), null)
})

test('parsers throw a coded error naming the bad input', () => {
  assert.throws(() => feedPublicKey('@nope.ed25519'), (err: unknown) => {
    assert.ok(err instanceof InvalidRefError)
    assert.equal(err.code, 'EINVALIDREF')
    assert.match(err.message, /not a feed id.*@nope/)
    return true
  })
  assert.throws(() => messageHash(42), /not a message id .*: number/)
  assert.throws(() => blobHash(feed), /not a blob id/)
})
