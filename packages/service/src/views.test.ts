// ViewBuilder over a real store (LevelDB in a temp dir): a page's likes read in one batch, and
// author views kept between calls, yet current the moment a message that changes them is stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type FeedId, type Identity } from '@hearsay/keys'
import type { MessageId } from '@hearsay/client-api'
import type { IndexedMessage, Store } from '@hearsay/store'
import { startTestApp } from './testing.ts'
import { ViewBuilder } from './views.ts'

async function published(store: Store, identity: Identity, content: Record<string, unknown> & { type: string }): Promise<IndexedMessage> {
  const stored = await store.publish(identity, content)
  return (await store.get(stored.key as MessageId))!
}

test('likes and reply counts of a page: never-liked posts, liked ones, unliked ones, mine', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t, { listen: false })
  const [carol, dave] = [generateIdentity(), generateIdentity()]
  const views = new ViewBuilder(app.store, app.id)
  const quiet = await published(app.store, carol, { type: 'post', text: 'nobody likes me' })
  const liked = await published(app.store, carol, { type: 'post', text: 'everybody likes me' })
  const unliked = await published(app.store, dave, { type: 'post', text: 'liked once, then not' })
  await app.handlers.setLike(liked.key, true)
  for (const voter of [carol, dave]) await app.store.publish(voter, { type: 'vote', vote: { link: liked.key, value: 1, expression: 'Like' } })
  await app.store.publish(dave, { type: 'vote', vote: { link: unliked.key, value: 1, expression: 'Like' } })
  await app.store.publish(dave, { type: 'vote', vote: { link: unliked.key, value: 0, expression: 'Unlike' } })
  const reply = await published(app.store, dave, { type: 'post', text: 'me too', root: liked.key, branch: liked.key })

  const { posts } = await views.posts([quiet, liked, unliked, reply])
  assert.deepEqual(posts.map((post) => post.likes), [
    { count: 0, byMe: false },
    { count: 3, byMe: true },
    { count: 0, byMe: false },
    { count: 0, byMe: false },
  ])
  assert.deepEqual(posts.map((post) => post.replyCount), [0, 1, 0, 0])
  assert.deepEqual((await views.post(liked)).likes, { count: 3, byMe: true })
  // Not posts: left out, as before.
  const vote = await published(app.store, carol, { type: 'vote', vote: { link: quiet.key, value: 1 } })
  assert.deepEqual((await views.posts([vote, quiet])).posts.map((post) => [post.id, post.likes.count]), [[quiet.key, 1]])
})

test('author views are kept, and change as soon as an about or a follow of ours says otherwise', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t, { listen: false })
  const [carol, dave] = [generateIdentity(), generateIdentity()]
  const views = new ViewBuilder(app.store, app.id)
  const nameOf = async (feed: FeedId) => (await views.author(feed)).name

  await app.store.publish(carol, { type: 'about', about: carol.id, name: 'Carol' })
  assert.equal(await nameOf(carol.id), 'Carol')
  await app.store.publish(carol, { type: 'about', about: carol.id, name: 'Caroline' })
  assert.equal(await nameOf(carol.id), 'Caroline')

  // Dave names himself nothing; Carol calls him "D". That shows only once we follow Carol.
  await app.store.publish(carol, { type: 'about', about: dave.id, name: 'D' })
  assert.equal(await nameOf(dave.id), null)
  await app.handlers.setFollow(carol.id, true)
  assert.equal(await nameOf(dave.id), 'D')
  await app.handlers.setFollow(carol.id, false)
  assert.equal(await nameOf(dave.id), null)

  // Concurrent pages naming one feed agree, and an about arriving between reads is seen by the next.
  const [a, b] = await Promise.all([views.authors([carol.id, dave.id]), views.authors([dave.id, carol.id])])
  assert.deepEqual(a, b)
  await app.store.publish(dave, { type: 'about', about: dave.id, name: 'Dave', image: '&' + 'A'.repeat(43) + '=.sha256' })
  assert.deepEqual(await views.author(dave.id), { id: dave.id, name: 'Dave', image: '&' + 'A'.repeat(43) + '=.sha256' })
})

test('a post naming a malformed feed id still renders: the id is left out of the authors', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t, { listen: false })
  const carol = generateIdentity()
  const views = new ViewBuilder(app.store, app.id)
  await app.store.publish(carol, { type: 'about', about: carol.id, name: 'Carol' })
  // 43 base64 characters whose last one sets bits past the 32 bytes: it matches the pattern of a
  // feed id in text, but is not a canonical one (decoding it throws).
  const forged = `@${'A'.repeat(42)}B=.ed25519` as FeedId
  const hostile = await published(app.store, carol, {
    type: 'post',
    text: `hello ${forged} and [@nobody](${forged})`,
    mentions: [{ link: forged, name: 'nobody' }, 'not-a-ref', { link: 42 }, null],
  })
  const { posts, authors } = await views.posts([hostile])
  assert.equal(posts.length, 1)
  assert.deepEqual(Object.keys(authors), [carol.id])
  assert.equal(authors[carol.id]?.name, 'Carol')
  assert.deepEqual(await views.authors([forged, 'garbage' as FeedId]), {})
})
