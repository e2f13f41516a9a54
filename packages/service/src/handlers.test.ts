// The client API's handlers over real apps: real LevelDB stores in temp dirs, real peers
// replicating over secret-handshake TCP on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createMessage } from '@hearsay/message'
import { boxContent } from '@hearsay/box1'
import { formatSecretFile, generateIdentity, parseSecretFile, type FeedId } from '@hearsay/keys'
import { draftSize, postContent, signedSizeOf, type MessageId } from '@hearsay/client-api'
import { encodeValue } from '@hearsay/message'
import { firstMatching, startTestApp, waitForSequence } from './testing.ts'
import type { App } from './app.ts'

type Handlers = App['handlers']

async function follows(a: { handlers: Handlers }, b: { id: FeedId }) {
  await a.handlers.setFollow(b.id, true)
}

/** Two apps that follow each other and are connected. */
async function pair(t: Parameters<typeof startTestApp>[0]) {
  const alice = await startTestApp(t)
  const bob = await startTestApp(t)
  await alice.handlers.editProfile({ name: 'Alice' })
  await bob.handlers.editProfile({ name: 'Bob' })
  await follows(alice, bob)
  await follows(bob, alice)
  await bob.handlers.connect(alice.peer.address!)
  return { alice, bob }
}

async function sequenceOf(app: App, feed: FeedId): Promise<number> {
  return (await app.store.feedStatus(feed))?.sequence ?? 0
}

test('a post replicates to a follower, whose home feed shows it with the author name; replies come in causal order', { timeout: 30_000 }, async (t) => {
  const { alice, bob } = await pair(t)
  const live = bob.handlers.homeFeedLive()
  const post = await alice.handlers.publishPost({ text: `hello #SSB from [@Bob](${bob.id})` })
  assert.equal(post.author, alice.id)
  assert.deepEqual(post.hashtags, ['ssb'])
  assert.deepEqual(post.mentions, [{ link: bob.id, name: 'Bob' }, { link: '#ssb' }])

  // Live first: it arrives by replication.
  // (firstMatching closes the stream once it has its item.)
  const arrived = await firstMatching(live, (item) => item.post.id === post.id)
  assert.equal(arrived.authors[alice.id]?.name, 'Alice')

  const home = await bob.handlers.homeFeed()
  const shown = home.items.find((item) => item.id === post.id)
  assert.ok(shown, 'the post is on the home feed')
  assert.equal(shown.text, post.text)
  assert.equal(home.authors[alice.id]?.name, 'Alice')
  // @mentioned feeds are named too.
  assert.equal(home.authors[bob.id]?.name, 'Bob')

  assert.deepEqual((await bob.handlers.hashtagFeed('#SSB')).items.map((p) => p.id), [post.id])
  assert.deepEqual((await bob.handlers.search('hello')).items.map((p) => p.id), [post.id])
  assert.ok((await bob.handlers.notifications()).items.some((n) => n.kind === 'mention' && n.post?.id === post.id))

  // A reply from Bob, then Alice answering Bob's reply: causal order in the thread.
  const aliceNotes = alice.handlers.notificationsLive()
  const reply = await bob.handlers.publishPost({ text: 'hi back', root: post.id })
  const note = await firstMatching(aliceNotes, (item) => item.notification.kind === 'reply')
  assert.equal(note.notification.post?.id, reply.id)
  assert.equal(note.authors[bob.id]?.name, 'Bob')
  assert.equal(reply.root, post.id)
  assert.deepEqual(reply.branch, [post.id])
  await waitForSequence(alice, bob.id, await sequenceOf(bob, bob.id))
  const answer = await alice.handlers.publishPost({ text: 'and again', root: post.id, branch: [reply.id] })
  await waitForSequence(bob, alice.id, await sequenceOf(alice, alice.id))
  const thread = await bob.handlers.thread(post.id)
  assert.equal(thread.root?.id, post.id)
  assert.equal(thread.root?.replyCount, 2)
  assert.deepEqual(thread.replies.map((r) => r.id), [reply.id, answer.id])
  assert.equal(thread.authors[bob.id]?.name, 'Bob')
})

test('likes count across peers and know whether they are mine; unliking takes it back', { timeout: 30_000 }, async (t) => {
  const { alice, bob } = await pair(t)
  const post = await alice.handlers.publishPost({ text: 'like me' })
  await waitForSequence(bob, alice.id, post.sequence)
  await bob.handlers.setLike(post.id, true)
  const mine = (await bob.handlers.thread(post.id)).root!
  assert.deepEqual(mine.likes, { count: 1, byMe: true })

  await waitForSequence(alice, bob.id, await sequenceOf(bob, bob.id))
  const theirs = (await alice.handlers.thread(post.id)).root!
  assert.deepEqual(theirs.likes, { count: 1, byMe: false })
  const likes = await alice.handlers.likes(post.id)
  assert.equal(likes.count, 1)
  assert.deepEqual(likes.voters.map((v) => [v.id, v.name]), [[bob.id, 'Bob']])
  const notes = await alice.handlers.notifications()
  assert.ok(notes.items.some((note) => note.kind === 'like' && note.from === bob.id && note.post?.id === post.id))

  await bob.handlers.setLike(post.id, false)
  assert.deepEqual((await bob.handlers.thread(post.id)).root!.likes, { count: 0, byMe: false })
  // What Bob published is the vote shape Patchwork writes.
  const last = await bob.store.get(((await bob.store.feedStatus(bob.id))!.id))
  assert.deepEqual(last?.value.content, { type: 'vote', vote: { link: post.id, value: 0, expression: 'Unlike' } })
})

test('following fills the home feed; blocking empties it of that feed and profiles say so', { timeout: 30_000 }, async (t) => {
  const alice = await startTestApp(t)
  const bob = await startTestApp(t)
  await alice.handlers.editProfile({ name: 'Alice', description: 'hi' })
  const post = await alice.handlers.publishPost({ text: 'visible?' })
  await follows(alice, bob) // so Alice fetches Bob's feed too (not needed for Bob's view)
  await bob.handlers.connect(alice.peer.address!)
  // Bob does not follow Alice yet: he does not replicate her, and his home feed lacks her.
  assert.equal((await bob.handlers.homeFeed()).items.length, 0)

  await bob.handlers.setFollow(alice.id, true)
  await waitForSequence(bob, alice.id, await sequenceOf(alice, alice.id))
  assert.deepEqual((await bob.handlers.homeFeed()).items.map((p) => p.id), [post.id])
  const profile = await bob.handlers.profile(alice.id)
  assert.equal(profile.name, 'Alice')
  assert.equal(profile.description, 'hi')
  assert.equal(profile.youFollow, true)
  assert.equal(profile.followsYou, true)
  assert.equal(profile.isMe, false)
  assert.deepEqual((await bob.handlers.following(bob.id)).items.map((a) => a.id), [alice.id])

  await bob.handlers.setBlock(alice.id, true)
  assert.deepEqual((await bob.handlers.homeFeed()).items, [])
  const blocked = await bob.handlers.profile(alice.id)
  assert.equal(blocked.youBlock, true)
  assert.equal(blocked.youFollow, false)
  // Her posts are still on her profile page, which is where a block is undone.
  assert.equal((await bob.handlers.profileFeed(alice.id)).items.length, 1)

  // Bad arguments are refused with a code, and change nothing.
  await assert.rejects(bob.handlers.setFollow(bob.id, true), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.setFollow('@nope' as FeedId, true), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.setBlock(alice.id, 'yes' as never), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.homeFeed({ limit: -1 }), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.homeFeed({ cursor: '!!!' }), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.editProfile({}), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.editProfile({ image: 'http://evil.example/x.png' as never }), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.thread('%nope' as MessageId), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(bob.handlers.connect('net:127.0.0.1:1~shs:nonsense'), { code: 'EAPI_CONNECT_FAILED' })
})

test('a private post reaches its recipient and nobody else', { timeout: 30_000 }, async (t) => {
  const { alice, bob } = await pair(t)
  const carol = await startTestApp(t)
  await follows(carol, alice)
  await carol.handlers.connect(alice.peer.address!)

  const secret = await alice.handlers.publishPost({ text: 'just for Bob', recps: [bob.id] })
  assert.deepEqual(secret.recps, [alice.id, bob.id])
  assert.equal((await alice.handlers.conversation(secret.id)).root?.text, 'just for Bob')
  await waitForSequence(bob, alice.id, secret.sequence)
  await waitForSequence(carol, alice.id, secret.sequence)

  const inbox = await bob.handlers.inbox()
  assert.deepEqual(inbox.items.map((c) => [c.latest.id, c.latest.text]), [[secret.id, 'just for Bob']])
  assert.equal(inbox.authors[alice.id]?.name, 'Alice')
  const talk = await bob.handlers.conversation(secret.id)
  assert.deepEqual([talk.root?.id, talk.root?.recps], [secret.id, [alice.id, bob.id]])
  assert.deepEqual((await carol.handlers.conversation(secret.id)), { root: null, replies: [], authors: {} })
  // Not on anyone's public feeds, and Carol, who holds the ciphertext, cannot read it.
  assert.ok(!(await bob.handlers.homeFeed()).items.some((p) => p.id === secret.id))
  assert.deepEqual((await carol.handlers.inbox()).items, [])
  assert.ok(!(await carol.handlers.homeFeed()).items.some((p) => p.id === secret.id))
  assert.equal(typeof (await carol.store.get(secret.id))?.value.content, 'string')
  assert.deepEqual((await carol.handlers.search('Bob')).items, [])
})

test('publishPost refuses an oversize draft with EMSG_TOO_LARGE before signing; the meter is exact', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const me = app.id
  await assert.rejects(app.handlers.publishPost({ text: 'x'.repeat(9000) }), { code: 'EMSG_TOO_LARGE', message: /limit is 8192/ })
  assert.equal(await sequenceOf(app, me), 0, 'nothing was published')

  // The meter's length is exactly the length of the message publishPost signs: public and private,
  // first message and later ones, with escapes and non-ASCII text.
  const recipient = generateIdentity().id
  const drafts = [{ text: 'first' }, { text: 'quote " and \\ and ünïcødé 🐌' }, { text: 'private', recps: [recipient] }, { text: `#tag [me](${me})`, contentWarning: 'cw' }]
  for (const draft of drafts) {
    const before = await sequenceOf(app, me)
    const predicted = draftSize(draft, me, before)
    const published = await app.handlers.publishPost(draft)
    const stored = await app.store.get(published.id)
    assert.equal(encodeValue(stored!.value).length, predicted.length, JSON.stringify(draft))
  }
  // The boxed length formula against real boxing of the same content.
  const identity = generateIdentity()
  const content = postContent({ text: 'boxed', recps: [recipient] }, identity.id)
  const boxed = createMessage({ identity, previous: null, content: boxContent(content, content.recps!), timestamp: Date.now() })
  assert.equal(encodeValue(boxed.value).length, signedSizeOf(content, identity.id, 0).length)
})

test('findPeople finds names by prefix, then substring, followed feeds first', { timeout: 30_000 }, async (t) => {
  const { alice, bob } = await pair(t)
  const carol = await startTestApp(t)
  await carol.handlers.editProfile({ name: 'Alicia' })
  await follows(carol, alice)
  await carol.handlers.connect(alice.peer.address!)
  await alice.handlers.setFollow(carol.id, true)
  // Bob gets Carol's feed through Alice: she is two follows away from him.
  await waitForSequence(bob, carol.id, await sequenceOf(carol, carol.id))
  const found = await bob.handlers.findPeople('ali')
  assert.deepEqual(found.map((a) => a.name), ['Alice', 'Alicia'])
  assert.deepEqual((await bob.handlers.findPeople('@bo')).map((a) => a.id), [bob.id])
  assert.deepEqual((await bob.handlers.findPeople('LIC')).map((a) => a.name), ['Alice', 'Alicia'])
  assert.deepEqual(await bob.handlers.findPeople('zzz'), [])
  // A name arriving later is found without restarting anything.
  await alice.handlers.editProfile({ name: 'Zed' })
  await waitForSequence(bob, alice.id, await sequenceOf(alice, alice.id))
  assert.deepEqual((await bob.handlers.findPeople('zed')).map((a) => a.id), [alice.id])
})

test('adoptSecret replaces an unused identity (restarting the peer as it) and is refused once we have published', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const before = app.id
  const adopted = generateIdentity()
  // Read as a (too short) recovery phrase; see backup-restore.test.ts for every kind of bad backup.
  await assert.rejects(app.handlers.adoptSecret('not a secret'), { code: 'EBACKUP_PHRASE_LENGTH' })
  const setup = await app.handlers.adoptSecret(formatSecretFile(adopted))
  assert.deepEqual(setup, { id: adopted.id, feedLength: 0, named: false, restorePending: true })
  assert.notEqual(app.id, before)
  assert.equal(app.peer.id, adopted.id)
  assert.match(app.peer.address!, new RegExp(`~shs:${adopted.id.slice(1, -8).replace(/[+/]/g, '\\$&')}`))
  const onDisk = parseSecretFile(await readFile(path.join(app.dataDir, 'secret'), 'utf8'))
  assert.equal(onDisk.id, adopted.id)

  // Publishing as the adopted identity waits for fork protection (see backup-restore.test.ts),
  // then works, and then no other identity may be adopted.
  await assert.rejects(app.handlers.publishPost({ text: 'too soon' }), { code: 'EAPI_RESTORE_PENDING' })
  await app.handlers.confirmNoEarlierMessages()
  const post = await app.handlers.publishPost({ text: 'now I am me' })
  assert.equal(post.author, adopted.id)
  await assert.rejects(app.handlers.adoptSecret(formatSecretFile(generateIdentity())), { code: 'EAPI_FEED_NOT_EMPTY' })
  assert.equal(app.id, adopted.id)
  assert.equal((await app.handlers.setup()).feedLength, 1)
})

test('status shows connected peers and wanted feeds; statusLive updates, a few times a second at most', { timeout: 30_000 }, async (t) => {
  const alice = await startTestApp(t)
  const bob = await startTestApp(t)
  const live = bob.handlers.statusLive()[Symbol.asyncIterator]()
  const first = await live.next()
  assert.equal(first.done, false)
  assert.deepEqual(first.value!.peers, [])
  assert.equal(first.value!.replication.wantedFeeds, 1)
  await bob.handlers.connect(alice.peer.address!)
  let connected = null
  const times: number[] = []
  while (!connected) {
    const next = await live.next()
    assert.equal(next.done, false)
    times.push(Date.now())
    if (next.value!.peers.some((p) => p.id === alice.id)) connected = next.value!
  }
  await live.return!()
  assert.equal((await live.next()).done, true, 'closed streams stay closed')
  // Throttled: consecutive updates are at least ~STATUS_INTERVAL apart.
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 200, `updates ${times[i]! - times[i - 1]!} ms apart`)
  const shown = connected.peers.find((p) => p.id === alice.id)!
  assert.equal(shown.kind, 'manual')
  assert.equal(shown.inbound, false)
  const snapshot = await bob.handlers.status()
  assert.equal(snapshot.peers.length, 1)
  assert.equal((await alice.handlers.status()).peers[0]?.kind, 'inbound')
})
