// Key backup and restore, and the fork protection after it, with real apps on 127.0.0.1: a
// friend's peer holds our feed, our data directory is wiped, the phrase restores the identity,
// and publishing waits for our feed from the friend, then continues at the next sequence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { formatSecretFile, generateIdentity, type FeedId } from '@hearsay/keys'
import createMuxrpc from 'muxrpc'
import pull from 'pull-stream'
import { createMessage } from '@hearsay/message'
import { MANIFEST, Transport } from '@hearsay/network'
import { defer, firstMatching, startTestApp, tempDir, waitForSequence } from './testing.ts'
import type { App } from './app.ts'

const require = createRequire(import.meta.url)
const mnemonic = require('ssb-keys-mnemonic') as { keysToWords(keys: object): string; wordsToKeys(words: string): { id: string } }
const ssbKeys = require('ssb-keys') as { generate(): { id: string; public: string; private: string; curve: string } }

// ssb-keys-mnemonic's README example: the phrase and the feed it restores.
const README_PHRASE = 'body hair useful camp warm into cause riot two bamboo kick educate dinosaur advice seed type crisp where guilt avocado output rely lunch goddess'
const README_ID = '@1nf1T1tUSa43dWglCHzyKIxV61jG/EeeL1Xq1Nk8I3U=.ed25519'

const sequenceOf = async (app: App, feed: FeedId) => (await app.store.feedStatus(feed))?.sequence ?? 0

test('the backup phrase is the one ssb-keys-mnemonic (Manyverse) writes, and either backup restores the identity', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const backup = await app.handlers.backup()
  assert.equal(backup.id, app.id)
  assert.equal(backup.phrase.split(' ').length, 24)
  assert.equal(mnemonic.wordsToKeys(backup.phrase).id, app.id, 'the reference reads our phrase back to our feed')
  assert.match(backup.secretFile, new RegExp(`"id": "${app.id.replace(/[+/.]/g, '\\$&')}"`))

  const fromPhrase = await startTestApp(t)
  assert.equal((await fromPhrase.handlers.adoptSecret(`  ${README_PHRASE.toUpperCase()}\n`)).id, README_ID)
  assert.equal((await fromPhrase.handlers.backup()).phrase, README_PHRASE)

  // A secret ssb-keys made restores from its file text, and its phrase is the reference's.
  const keys = ssbKeys.generate()
  const fromFile = await startTestApp(t)
  const restored = await fromFile.handlers.adoptSecret(JSON.stringify(keys))
  assert.equal(restored.id, keys.id)
  assert.equal(restored.restorePending, true)
  assert.equal((await fromFile.handlers.backup()).phrase, mnemonic.keysToWords(keys))
})

test('a wrong phrase or a malformed secret file is refused with a clear code, and changes nothing', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const before = app.id
  const words = README_PHRASE.split(' ')
  const tries: Array<[string, string, RegExp]> = [
    [words.slice(0, 23).join(' '), 'EBACKUP_PHRASE_LENGTH', /24 words; this has 23/],
    [[...words, 'lunch'].join(' '), 'EBACKUP_PHRASE_LENGTH', /this has 25/],
    [[...words.slice(0, 5), 'bodyy', ...words.slice(6)].join(' '), 'EBACKUP_PHRASE_WORD', /word 6 is not/],
    // Two words swapped: every word is valid, the checksum is not.
    [[words[1], words[0], ...words.slice(2)].join(' '), 'EBACKUP_PHRASE_CHECKSUM', /do not check out/],
    ['', 'EBACKUP_PHRASE_LENGTH', /this has 0/],
    ['{"curve":"ed25519","private":"AAAA.ed25519"}', 'EBACKUP_SECRET_FILE', /not a base64 64-byte/],
    ['{ not json', 'EBACKUP_SECRET_FILE', /not JSON/],
    [formatSecretFile(generateIdentity()).replace(/"id": "@/, '"id": "@x'), 'EBACKUP_SECRET_FILE', /"id" does not match/],
  ]
  for (const [text, code, message] of tries) {
    await assert.rejects(app.handlers.adoptSecret(text), (err: Error & { code?: string }) => {
      assert.equal(err.code, code, text)
      assert.match(err.message, message)
      assert.ok(!err.message.includes(words[3]!), 'the message never echoes the phrase')
      return true
    })
  }
  await assert.rejects(app.handlers.adoptSecret(42 as unknown as string), { code: 'EAPI_BAD_ARGUMENT' })
  assert.equal(app.id, before)
  assert.deepEqual(await app.handlers.restoreStatus(), { pending: false, sequence: 0, peersAsked: 0, latestOnPeers: null })
  await app.handlers.publishPost({ text: 'still me, still free to post' })
})

test('backup → wipe → restore: publishing waits for our feed from a peer, then continues at the next sequence (no fork)', { timeout: 60_000 }, async (t) => {
  const dataDir = path.join(await tempDir(t), 'data')
  const original = await startTestApp(t, { dataDir })
  const friend = await startTestApp(t)
  await friend.handlers.setFollow(original.id, true)
  await friend.handlers.connect(original.peer.address!)
  for (const text of ['one', 'two', 'three']) await original.handlers.publishPost({ text })
  await waitForSequence(friend, original.id, 3)
  const { phrase } = await original.handlers.backup()
  const id = original.id
  await original.close()
  await rm(dataDir, { recursive: true, force: true })

  const restored = await startTestApp(t, { dataDir })
  assert.notEqual(restored.id, id, 'a wiped data directory starts with a new identity')
  const setup = await restored.handlers.adoptSecret(phrase)
  assert.deepEqual(setup, { id, feedLength: 0, named: false, restorePending: true })
  await assert.rejects(restored.handlers.publishPost({ text: 'too soon' }), { code: 'EAPI_RESTORE_PENDING' })
  await assert.rejects(restored.handlers.setFollow(friend.id, true), { code: 'EAPI_RESTORE_PENDING' })
  assert.equal(await sequenceOf(restored, id), 0)
  const live = restored.handlers.restoreStatusLive()

  await restored.handlers.connect(friend.peer.address!)
  const settled = await firstMatching(live, (view) => !view.pending)
  assert.deepEqual(settled, { pending: false, sequence: 3, peersAsked: 0, latestOnPeers: null })
  const next = await restored.handlers.publishPost({ text: 'four, after the restore' })
  assert.equal(next.sequence, 4)
  await waitForSequence(friend, id, 4)
  const onFriend = await friend.store.get(next.id)
  assert.equal(onFriend?.value.sequence, 4, 'the friend takes the next message: the feed did not fork')
})

test('a restore with no peer reachable refuses to publish, across a restart, until the person confirms', { timeout: 60_000 }, async (t) => {
  const dataDir = path.join(await tempDir(t), 'data')
  const identity = generateIdentity()
  const first = await startTestApp(t, { dataDir })
  await first.handlers.adoptSecret(formatSecretFile(identity))
  await assert.rejects(first.handlers.publishPost({ text: 'nobody has my feed?' }), { code: 'EAPI_RESTORE_PENDING' })
  await first.close()

  const again = await startTestApp(t, { dataDir })
  assert.equal(again.id, identity.id)
  assert.equal((await again.handlers.setup()).restorePending, true, 'still pending after a restart')
  await assert.rejects(again.handlers.editProfile({ name: 'Too soon' }), { code: 'EAPI_RESTORE_PENDING' })
  // A peer that does not hold our feed proves nothing: still pending.
  const stranger = await startTestApp(t)
  await again.handlers.connect(stranger.peer.address!)
  const view = await firstMatching(again.handlers.restoreStatusLive(), (status) => status.peersAsked > 0)
  assert.deepEqual(view, { pending: true, sequence: 0, peersAsked: 1, latestOnPeers: null })
  assert.deepEqual(await again.handlers.confirmNoEarlierMessages(), { pending: false, sequence: 0, peersAsked: 0, latestOnPeers: null })
  const post = await again.handlers.publishPost({ text: 'my first post, confirmed' })
  assert.equal(post.sequence, 1)
})

test('a peer that sends forged messages of our feed is not believed: the restore stays pending', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const identity = generateIdentity()
  await app.handlers.adoptSecret(formatSecretFile(identity))
  // Our feed's first message as an impostor signs it: right author and sequence, wrong key.
  const impostor = generateIdentity()
  const forged = { ...createMessage({ identity: impostor, previous: null, content: { type: 'post', text: 'not me' }, timestamp: Date.now() }).value, author: identity.id }
  let served!: () => void
  const allServed = new Promise<void>((resolve) => (served = resolve))
  const transport = new Transport({ identity: generateIdentity(), host: '127.0.0.1' })
  defer(t, () => transport.close())
  const hostile = await transport.listen((connection) => {
    const api = {
      manifest: () => MANIFEST,
      createHistoryStream: (options: { id: FeedId }) => {
        const items = options.id === identity.id ? [forged] : []
        return (abort: unknown, cb: (end: unknown, value?: unknown) => void) => {
          if (abort) return cb(abort)
          const next = items.shift()
          if (next) return cb(null, next)
          served()
          cb(true)
        }
      },
    }
    const rpc = createMuxrpc(MANIFEST, MANIFEST, api, null)
    pull(connection.stream, rpc.stream, connection.stream)
  }, () => undefined)
  await app.handlers.connect(hostile)
  await allServed
  const stranger = await startTestApp(t)
  await app.handlers.connect(stranger.peer.address!)
  const view = await firstMatching(app.handlers.restoreStatusLive(), (status) => status.peersAsked > 0)
  assert.deepEqual(view, { pending: true, sequence: 0, peersAsked: 1, latestOnPeers: null }, 'only the honest peer counts, and it holds nothing')
  assert.equal(await sequenceOf(app, identity.id), 0)
  await assert.rejects(app.handlers.publishPost({ text: 'still waiting' }), { code: 'EAPI_RESTORE_PENDING' })
})
