// Private messages, read markers, notification counts and hashtag search, with real apps on
// 127.0.0.1. A third app C replicates A's feed, so it holds A's private message boxed: it must
// never show it anywhere (search, inbox, feeds).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { firstMatching, startTestApp, tempDir, waitForSequence } from './testing.ts'
import type { App } from './app.ts'
import path from 'node:path'

const sequenceOf = async (app: App, feed: FeedId) => (await app.store.feedStatus(feed))?.sequence ?? 0

test('a private message reaches B unread, is marked read for good, and C (replicating A) never sees it', { timeout: 60_000 }, async (t) => {
  const a = await startTestApp(t)
  const bDir = path.join(await tempDir(t), 'data')
  let b = await startTestApp(t, { dataDir: bDir })
  const c = await startTestApp(t)
  await a.handlers.editProfile({ name: 'Alice' })
  for (const reader of [b, c]) {
    await reader.handlers.setFollow(a.id, true)
    await reader.handlers.connect(a.peer.address!)
  }
  await a.handlers.setFollow(b.id, true)

  const arriving = firstMatching(b.handlers.privateMessagesLive(), (live) => live.post.text.includes('pineapple'))
  const nothingForC = c.handlers.privateMessagesLive()
  const secret = await a.handlers.publishPost({ text: 'the pineapple plan, just for you', recps: [b.id] })
  await a.handlers.publishPost({ text: 'public words about apples' })
  const last = await sequenceOf(a, a.id)
  await waitForSequence(b, a.id, last)
  await waitForSequence(c, a.id, last)

  const live = await arriving
  assert.deepEqual([live.post.id, live.post.recps, live.authors[a.id]?.name], [secret.id, [a.id, b.id], 'Alice'])
  const inbox = await b.handlers.inbox()
  assert.deepEqual(inbox.items.map((item) => [item.root, item.unread]), [[secret.id, true]])
  await b.handlers.markConversationRead(secret.id)
  assert.equal((await b.handlers.inbox()).items[0]!.unread, false)
  // The read marker survives a restart.
  await b.close()
  b = await startTestApp(t, { dataDir: bDir })
  assert.equal((await b.handlers.inbox()).items[0]!.unread, false)
  assert.equal((await b.handlers.search('pineapple')).items.length, 0, 'plain search stays public even for a recipient')

  // C holds the boxed message but can read it nowhere.
  assert.ok((await c.store.get(secret.id)) !== null, 'C has the boxed message')
  assert.deepEqual((await c.handlers.inbox()).items, [])
  assert.deepEqual((await c.handlers.search('pineapple')).items, [])
  assert.deepEqual((await c.handlers.search('plan')).items, [])
  assert.equal((await c.handlers.search('apples')).items.length, 1, 'C searches A\'s public post')
  const onProfile = await c.handlers.profileFeed(a.id)
  assert.ok(onProfile.items.every((post) => post.id !== secret.id))
  const home = await c.handlers.homeFeed()
  assert.ok(home.items.every((post) => post.id !== secret.id && !post.text.includes('pineapple')))
  await assert.rejects(c.handlers.conversation('not an id' as never), { code: 'EAPI_BAD_ARGUMENT' })
  assert.deepEqual((await c.handlers.conversation(secret.id)).replies, [])
  // C's live private stream gave nothing: the next thing on it is C's own private note.
  const note = await c.handlers.publishPost({ text: 'a note to self', recps: [c.id] })
  assert.equal((await firstMatching(nothingForC, () => true)).post.id, note.id)

  // Too many recipients: refused before anything is signed.
  const eight = Array.from({ length: 8 }, () => generateIdentity().id)
  const before = await sequenceOf(a, a.id)
  await assert.rejects(a.handlers.publishPost({ text: 'crowd', recps: eight }), { code: 'EAPI_BAD_ARGUMENT' })
  assert.equal(await sequenceOf(a, a.id), before)
  await assert.rejects(b.handlers.markConversationRead('%nope' as never), { code: 'EAPI_BAD_ARGUMENT' })
})

test('unread notifications count mentions and likes until seen; hashtags are found by prefix', { timeout: 60_000 }, async (t) => {
  const a = await startTestApp(t)
  const b = await startTestApp(t)
  await a.handlers.editProfile({ name: 'Alice' })
  await b.handlers.editProfile({ name: 'Bob' })
  await a.handlers.setFollow(b.id, true)
  await b.handlers.setFollow(a.id, true)
  await b.handlers.connect(a.peer.address!)
  assert.equal(await a.handlers.unreadNotifications(), 0)
  await b.handlers.markNotificationsSeen() // nothing to see yet: harmless

  const mine = await a.handlers.publishPost({ text: 'growing #Gardening and #garlic, not #grapes' })
  await waitForSequence(b, a.id, await sequenceOf(a, a.id))
  await b.handlers.setLike(mine.id, true)
  await b.handlers.publishPost({ text: `hi [@Alice](${a.id})` })
  await waitForSequence(a, b.id, await sequenceOf(b, b.id))
  // Bob's follow, like and mention.
  assert.equal(await a.handlers.unreadNotifications(), 3)
  await a.handlers.markNotificationsSeen()
  assert.equal(await a.handlers.unreadNotifications(), 0)

  assert.deepEqual(await b.handlers.findHashtags('#GAR'), [{ tag: 'gardening' }, { tag: 'garlic' }])
  assert.deepEqual(await b.handlers.findHashtags('g', { limit: 2 }), [{ tag: 'gardening' }, { tag: 'garlic' }])
  assert.deepEqual(await b.handlers.findHashtags('gr'), [{ tag: 'grapes' }])
  assert.deepEqual(await b.handlers.findHashtags('zzz'), [])
  assert.deepEqual(await b.handlers.findHashtags('#'), [])
  await assert.rejects(b.handlers.findHashtags(7 as never), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(b.handlers.findHashtags('g', { limit: 0 }), { code: 'EAPI_BAD_ARGUMENT' })
})
