// How drafts become post content. (That the measured size is exactly the signed size is checked
// against real signing and boxing in @hearsay/service, which may depend on those packages.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { draftSize, mentionsIn, postContent, MAX_MESSAGE_LENGTH } from './draft.ts'
import type { FeedId, MessageId } from './views.ts'

const me = `@${'A'.repeat(43)}=.ed25519` as FeedId
const alice = `@${'B'.repeat(42)}E=.ed25519` as FeedId
const bob = `@${'C'.repeat(42)}Q=.ed25519` as FeedId
const root = `%${'D'.repeat(42)}A=.sha256` as MessageId
const tip = `%${'E'.repeat(42)}A=.sha256` as MessageId
const blob = `&${'F'.repeat(42)}A=.sha256`

test('mentions come from markdown links, bare feed ids and hashtags, each once', () => {
  const text = `hi [@alice](${alice}) and ${bob}, see [this](${root}) ![cat pic](${blob}) #SSB #ssb #p2p and again [alice](${alice})`
  assert.deepEqual(mentionsIn(text), [
    { link: alice, name: 'alice' },
    { link: root, name: 'this' },
    { link: blob, name: 'cat pic' },
    { link: bob },
    { link: '#ssb' },
    { link: '#p2p' },
  ])
  // Not hashtags: anchors, HTML entities, a lone '#'.
  assert.deepEqual(mentionsIn('page#anchor &#38; # alone'), [])
  // A malformed id is not a mention.
  assert.deepEqual(mentionsIn(`[x](@${'A'.repeat(43)}.ed25519)`), [])
  // Nor a sigil with the other's algorithm, a non-canonical key, or a bare message id.
  assert.deepEqual(mentionsIn(`[x](@${'A'.repeat(42)}E=.sha256) [y](&${'F'.repeat(42)}B=.sha256) ${root}`), [])
})

test('a reply carries root and branch (branch defaults to the root); private posts add the author to recps', () => {
  assert.deepEqual(postContent({ text: 'top' }, me), { type: 'post', text: 'top', mentions: [] })
  assert.deepEqual(postContent({ text: 'reply', root }, me), { type: 'post', text: 'reply', mentions: [], root, branch: root })
  assert.deepEqual(postContent({ text: 'reply', root, branch: [tip, tip, root] }, me).branch, [tip, root])
  assert.deepEqual(postContent({ text: 'psst', recps: [alice] }, me).recps, [me, alice])
  assert.deepEqual(postContent({ text: 'cw', contentWarning: '  spoilers  ' }, me).contentWarning, 'spoilers')
  assert.equal(postContent({ text: 'cw', contentWarning: '   ' }, me).contentWarning, undefined)
})

test('malformed drafts are refused with EAPI_BAD_ARGUMENT', () => {
  const refused = (draft: unknown, message: RegExp) =>
    assert.throws(() => postContent(draft as never, me), { code: 'EAPI_BAD_ARGUMENT', message })
  refused(null, /must be an object/)
  refused({ text: '   ' }, /needs some text/)
  refused({ text: 5 }, /needs some text/)
  refused({ text: 'x', root: 'not-an-id' }, /root must be a message id/)
  refused({ text: 'x', root, branch: [] }, /branch/)
  refused({ text: 'x', root, branch: ['%nope'] }, /branch/)
  refused({ text: 'x', branch: [root] }, /branch needs a root/)
  refused({ text: 'x', contentWarning: 3 }, /contentWarning/)
  refused({ text: 'x', contentWarning: 'w'.repeat(201) }, /content warning/)
  refused({ text: 'x', recps: [] }, /recps/)
  refused({ text: 'x', recps: ['@bad'] }, /recps/)
  const sevenOthers = Array.from({ length: 7 }, (_, i) => `@${String.fromCharCode(66 + i).repeat(42)}A=.ed25519`)
  refused({ text: 'x', recps: sevenOthers }, /at most 7/)
})

test('the size meter grows with the text, and boxing costs more than posting in public', () => {
  const small = draftSize({ text: 'hello' }, me, 3)
  const bigger = draftSize({ text: 'hello world' }, me, 3)
  assert.equal(small.limit, MAX_MESSAGE_LENGTH)
  assert.equal(bigger.length - small.length, ' world'.length)
  // JSON escaping counts: a quote is two characters on the wire.
  assert.equal(draftSize({ text: 'hello"' }, me, 3).length - small.length, 2)
  assert.ok(draftSize({ text: 'hello', recps: [alice] }, me, 3).length > small.length)
  // Without the feed length it never under-counts.
  assert.ok(draftSize({ text: 'hello' }, me).length >= small.length)
  assert.ok(draftSize({ text: 'x'.repeat(8000) }, me, 3).length > MAX_MESSAGE_LENGTH)
})
