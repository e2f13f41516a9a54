import { test } from 'node:test'
import assert from 'node:assert/strict'
import { feedPublicKey, generateIdentity, InvalidRefError, type FeedId, type Identity, type MessageId } from '@hearsay/keys'
import { boxContent } from '@hearsay/box1'
import type { Content, FeedState, ValidMessage } from '@hearsay/message'
import {
  openStore, homeFeed, profilePosts, thread, profile, followers, following, blocked, blockers, isFollowing, isBlocking,
  hops, notifications, hashtagFeed, votesFor, backlinksOf, liveQuery, homeFeedLive, notificationsLive, threadLive,
  profilePostsLive, hashtagFeedLive, backlinksOfLive, votesLive, contactsLive, profileLive,
  defaultIndexes, type IndexDefinition, type IndexedMessage, type Page, type PageOptions, type Store,
} from './index.ts'
import { signChain, tempDir } from './test-helpers.ts'
import { timelineIndex } from './indexes/timeline.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))
const carol = generateIdentity(Buffer.alloc(32, 3))
const dave = generateIdentity(Buffer.alloc(32, 4))
const eve = generateIdentity(Buffer.alloc(32, 5))
const BLOB = '&S7+CwHM6dZ9si5Vn4ftpk/l/ldbRMqzzJos+spZbWf4=.sha256'

/** Signs and appends messages feed by feed, with timestamps the test chooses. */
class World {
  private readonly states = new Map<FeedId, FeedState>()
  private clock = 1_700_000_000_000
  constructor(readonly store: Store) {}

  /** Appends `content` by `who`, dated `at` (ms after the world's start) or one ms after the last. */
  async add(who: Identity, content: Content, at?: number): Promise<ValidMessage> {
    const timestamp = at === undefined ? ++this.clock : 1_700_000_000_000 + at
    const [message] = signChain(who, [content], this.states.get(who.id) ?? null, timestamp)
    const result = await this.store.append(who.id, [message!.value])
    assert.equal(result.rejected, undefined, String(result.rejected?.error))
    this.states.set(who.id, { id: message!.key, sequence: message!.value.sequence, timestamp })
    return message!
  }

  post(who: Identity, text: string, extra: Record<string, unknown> = {}, at?: number) {
    return this.add(who, { type: 'post', text, ...extra }, at)
  }
  follow(who: Identity, whom: Identity, following = true) {
    return this.add(who, { type: 'contact', contact: whom.id, following })
  }
  block(who: Identity, whom: Identity, blocking = true) {
    return this.add(who, { type: 'contact', contact: whom.id, blocking })
  }
  vote(who: Identity, link: MessageId, value: number) {
    return this.add(who, { type: 'vote', vote: { link, value, expression: value > 0 ? 'Like' : 'Unlike' } })
  }
}

async function world(t: { after(fn: () => unknown): void }, identity: Identity = alice): Promise<World> {
  const store = await openStore({ path: await tempDir(t), create: true, identity })
  t.after(() => store.close())
  return new World(store)
}

const keys = (messages: readonly IndexedMessage[]) => messages.map((m) => m.key)
const texts = (messages: readonly IndexedMessage[]) => messages.map((m) => (m.value.content as { text?: string }).text)

/** Every item of a paginated query, following cursors; also returns the page sizes. */
async function allPages<T>(query: (options: PageOptions) => Promise<Page<T>>, limit: number): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = []
  const sizes: number[] = []
  let cursor: string | undefined
  do {
    const page = await query({ limit, ...(cursor ? { cursor } : {}) })
    items.push(...page.items)
    sizes.push(page.items.length)
    cursor = page.cursor
  } while (cursor)
  return { items, sizes }
}

test('home feed: posts and replies by followed feeds and me, newest first, across cursors', async (t) => {
  const w = await world(t)
  await w.follow(alice, bob)
  await w.follow(alice, carol)
  const root = await w.post(bob, 'bob root', {}, 100)
  await w.post(carol, 'carol reply', { root: root.key, branch: root.key }, 300)
  await w.post(dave, 'dave, unfollowed', {}, 250)
  await w.post(alice, 'mine', {}, 200)
  await w.post(bob, 'bob later', {}, 400)
  await w.add(bob, { type: 'vote', vote: { link: root.key, value: 1 } }, 500)
  await w.add(carol, { type: 'about', about: carol.id, name: 'Carol' }, 600)
  await w.add(bob, boxContent({ type: 'post', text: 'private to alice' }, [alice.id, bob.id]), 700)

  const page = await homeFeed(w.store, alice.id)
  assert.deepEqual(texts(page.items), ['bob later', 'carol reply', 'mine', 'bob root'])
  assert.equal(page.cursor, undefined)

  const paged = await allPages((o) => homeFeed(w.store, alice.id, o), 3)
  assert.deepEqual(texts(paged.items), texts(page.items))
  assert.deepEqual(paged.sizes, [3, 1])
  const exact = await allPages((o) => homeFeed(w.store, alice.id, o), 2)
  assert.deepEqual(exact.sizes, [2, 2], 'no empty page after an exactly full one')
  await assert.rejects(homeFeed(w.store, alice.id, { cursor: 'AAAA' }), RangeError)
  assert.deepEqual(texts((await homeFeed(w.store, dave.id)).items), ['dave, unfollowed'], 'a feed following nobody sees itself')
})

test('home feed: unfollow removes, block hides even after a follow, unblock leaves no follow', async (t) => {
  const w = await world(t)
  await w.follow(alice, bob)
  await w.follow(alice, carol)
  await w.follow(alice, dave)
  await w.post(bob, 'bob')
  await w.post(carol, 'carol')
  await w.post(dave, 'dave')
  assert.deepEqual(texts((await homeFeed(w.store, alice.id)).items), ['dave', 'carol', 'bob'])

  await w.follow(alice, carol, false)
  await w.block(alice, dave)
  assert.deepEqual(texts((await homeFeed(w.store, alice.id)).items), ['bob'])
  assert.deepEqual(await following(w.store, alice.id), [bob.id])
  assert.deepEqual(await blocked(w.store, alice.id), [dave.id])
  assert.equal(await isBlocking(w.store, alice.id, dave.id), true)

  await w.block(alice, dave, false)
  assert.equal(await isBlocking(w.store, alice.id, dave.id), false)
  assert.equal(await isFollowing(w.store, alice.id, dave.id), false, 'unblocking does not restore the follow')
  assert.deepEqual(texts((await homeFeed(w.store, alice.id)).items), ['bob'])
  await w.follow(alice, dave)
  assert.deepEqual(texts((await homeFeed(w.store, alice.id)).items), ['dave', 'bob'])
})

test('home feed: a time line entry naming the wrong author (as a key-prefix collision would) lets no post through', async (t) => {
  // Every post is filed under bob's key prefix, so the walk takes dave's posts for bob's.
  const colliding: IndexDefinition = {
    ...timelineIndex,
    index(message, writer) {
      timelineIndex.index(message, { put: (key) => writer.put(key, feedPublicKey(bob.id).subarray(0, 8)), del: (key) => writer.del(key) })
    },
  }
  const store = await openStore({ path: await tempDir(t), create: true, identity: alice, indexes: defaultIndexes().map((index) => (index.name === 'timeline' ? colliding : index)) })
  t.after(() => store.close())
  const w = new World(store)
  await w.follow(alice, bob)
  await w.post(bob, 'bob 1', {}, 100)
  await w.post(dave, 'dave 1', {}, 200)
  await w.post(alice, 'mine', {}, 300)
  await w.post(dave, 'dave 2', {}, 400)
  await w.post(bob, 'bob 2', {}, 500)
  assert.deepEqual(texts((await homeFeed(store, alice.id)).items), ['bob 2', 'mine', 'bob 1'])
  const paged = await allPages((o) => homeFeed(store, alice.id, o), 1)
  assert.deepEqual(texts(paged.items), ['bob 2', 'mine', 'bob 1'])
})

test('profile posts page one feed, roots and replies, public only', async (t) => {
  const w = await world(t, bob)
  for (let i = 1; i <= 7; i++) await w.post(alice, `a${i}`, i % 2 ? {} : { root: '%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256' })
  await w.add(alice, boxContent({ type: 'post', text: 'secret' }, [bob.id]))
  await w.post(bob, 'b1')
  const { items, sizes } = await allPages((o) => profilePosts(w.store, alice.id, o), 3)
  assert.deepEqual(texts(items), ['a7', 'a6', 'a5', 'a4', 'a3', 'a2', 'a1'])
  assert.deepEqual(sizes, [3, 3, 1])
})

test('threads: causal order over branch strings and arrays, forks, clock skew, missing roots', async (t) => {
  const w = await world(t)
  const root = await w.post(alice, 'root', {}, 0)
  const r = root.key
  // Two forks off the root; carol's clock is behind so her reply is dated first.
  const b1 = await w.post(bob, 'b1', { root: r, branch: r }, 10)
  const c1 = await w.post(carol, 'c1', { root: r, branch: r }, 5)
  // dave merges both forks, with a clock so far behind he dates it before either.
  const d1 = await w.post(dave, 'd1', { root: r, branch: [b1.key, c1.key] }, 3)
  // A reply to d1, dated before d1 too; and one whose branch is outside the thread.
  await w.post(bob, 'b2', { root: r, branch: d1.key }, 2)
  await w.post(carol, 'c2', { root: r, branch: '%BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=.sha256' }, 7)
  // No branch at all, and a branch that is the root itself.
  await w.post(eve, 'e1', { root: r }, 8)
  await w.post(eve, 'e2', { root: r, branch: [r] }, 9)
  await w.add(bob, boxContent({ type: 'post', text: 'private reply', root: r, branch: r }, [alice.id, bob.id]), 11)
  await w.post(bob, 'elsewhere', { root: b1.key, branch: b1.key }, 12)

  const got = await thread(w.store, r)
  assert.equal(got.root?.key, r)
  assert.deepEqual(texts(got.replies), ['c1', 'c2', 'e1', 'e2', 'b1', 'd1', 'b2'])
  const position = new Map(got.replies.map((m, i) => [m.key, i]))
  assert.ok(position.get(d1.key)! > position.get(b1.key)! && position.get(d1.key)! > position.get(c1.key)!)

  const missing = await thread(w.store, b1.key)
  assert.equal(missing.root?.key, b1.key)
  assert.deepEqual(texts(missing.replies), ['elsewhere'])
  const unknownRoot = '%CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=.sha256' as MessageId
  await w.post(carol, 'orphan 2', { root: unknownRoot, branch: unknownRoot }, 21)
  const orphan1 = await w.post(bob, 'orphan 1', { root: unknownRoot, branch: unknownRoot }, 20)
  await w.post(dave, 'orphan reply', { root: unknownRoot, branch: orphan1.key }, 19)
  const orphaned = await thread(w.store, unknownRoot)
  assert.equal(orphaned.root, null)
  assert.deepEqual(texts(orphaned.replies), ['orphan 1', 'orphan reply', 'orphan 2'])
  await assert.rejects(thread(w.store, 'not an id' as MessageId), InvalidRefError)
})

test('a private root is not shown in the public thread', async (t) => {
  const w = await world(t, bob)
  const root = await w.add(alice, boxContent({ type: 'post', text: 'psst' }, [bob.id]))
  await w.post(carol, 'public reply to a private root', { root: root.key, branch: root.key })
  const got = await thread(w.store, root.key)
  assert.equal(got.root, null)
  assert.deepEqual(texts(got.replies), ['public reply to a private root'])
})

test('votes: latest vote per author wins; unvotes and dislikes do not count', async (t) => {
  const w = await world(t)
  const post = await w.post(alice, 'like me')
  const other = await w.post(alice, 'other')
  await w.vote(bob, post.key, 1)
  await w.vote(carol, post.key, 1)
  await w.vote(dave, post.key, -1)
  await w.vote(eve, other.key, 1)
  assert.deepEqual(await votesFor(w.store, post.key), { count: 2, voters: [carol.id, bob.id] })
  await w.vote(carol, post.key, 0)
  await w.vote(dave, post.key, 1)
  await w.vote(bob, post.key, 1)
  assert.deepEqual(await votesFor(w.store, post.key), { count: 2, voters: [bob.id, dave.id] }, 'most recent like first')
  await w.add(carol, boxContent({ type: 'vote', vote: { link: post.key, value: 1 } }, [alice.id]))
  await w.add(eve, { type: 'vote', vote: { link: 'not a ref', value: 1 } })
  assert.equal((await votesFor(w.store, post.key)).count, 2, 'private votes are not public likes')
  assert.deepEqual(await votesFor(w.store, other.key), { count: 1, voters: [eve.id] })
  assert.deepEqual(await votesFor(w.store, '%DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDA=.sha256'), { count: 0, voters: [] })
})

test('about: latest self-chosen fields win field by field; names given by others', async (t) => {
  const w = await world(t)
  await w.add(alice, { type: 'about', about: alice.id, name: 'alice', image: BLOB })
  await w.add(alice, { type: 'about', about: alice.id, name: 'Alice A.' })
  await w.add(alice, { type: 'about', about: alice.id, description: 'hi', image: { link: BLOB.replace('S7', 'T7'), type: 'image/png' } })
  await w.add(bob, { type: 'about', about: alice.id, name: 'Al' })
  await w.add(carol, { type: 'about', about: alice.id, name: 'A' })
  await w.add(carol, { type: 'about', about: alice.id, name: 'Ally', description: 'not hers to set' })
  await w.add(bob, { type: 'about', about: bob.id, name: 'Bob' })
  await w.add(alice, boxContent({ type: 'about', about: alice.id, name: 'secret name' }, [alice.id]))
  await w.add(dave, { type: 'about', about: '%EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEA=.sha256', name: 'a gathering' })

  const got = await profile(w.store, alice.id)
  assert.equal(got.name, 'Alice A.')
  assert.equal(got.image, BLOB.replace('S7', 'T7'))
  assert.equal(got.description, 'hi')
  assert.deepEqual(
    [...got.namesGivenByOthers].sort((a, b) => a.name.localeCompare(b.name)),
    [{ name: 'Al', by: bob.id }, { name: 'Ally', by: carol.id }],
  )
  assert.deepEqual(await profile(w.store, bob.id), { name: 'Bob', image: null, description: null, namesGivenByOthers: [] })
  assert.deepEqual(await profile(w.store, eve.id), { name: null, image: null, description: null, namesGivenByOthers: [] })
})

test('contacts: followers, following, blocks both ways, latest message wins, private ignored', async (t) => {
  const w = await world(t)
  await w.follow(alice, bob)
  await w.follow(carol, bob)
  await w.follow(dave, bob)
  await w.follow(dave, bob, false)
  await w.follow(eve, bob)
  await w.block(eve, bob)
  await w.add(alice, { type: 'contact', contact: carol.id, following: true, blocking: true })
  await w.add(alice, boxContent({ type: 'contact', contact: dave.id, following: true }, [alice.id]))
  await w.add(alice, { type: 'contact', contact: 'not a feed', following: true })

  assert.deepEqual(new Set(await followers(w.store, bob.id)), new Set([alice.id, carol.id]))
  assert.deepEqual(await following(w.store, alice.id), [bob.id])
  assert.deepEqual(await blocked(w.store, alice.id), [carol.id], 'blocking wins over following in one message')
  assert.deepEqual(await blockers(w.store, bob.id), [eve.id])
  assert.equal(await isFollowing(w.store, dave.id, bob.id), false)
  assert.equal(await isFollowing(w.store, alice.id, dave.id), false, 'a private follow is not in the public graph')
  assert.equal(await isFollowing(w.store, carol.id, bob.id), true)
  assert.equal(await isBlocking(w.store, eve.id, bob.id), true)
})

test('hops: breadth-first over follows, excluding and not walking through my blocks', async (t) => {
  const w = await world(t)
  await w.follow(alice, bob)
  await w.follow(bob, carol)
  await w.follow(carol, dave)
  await w.follow(bob, alice)
  await w.follow(carol, eve)
  await w.follow(alice, eve)
  const asObject = (map: Map<FeedId, number>) => Object.fromEntries([...map].sort())
  assert.deepEqual(asObject(await hops(w.store, alice.id)), asObject(new Map([[alice.id, 0], [bob.id, 1], [eve.id, 1], [carol.id, 2]])))
  assert.deepEqual(asObject(await hops(w.store, alice.id, 3)), asObject(new Map([[alice.id, 0], [bob.id, 1], [eve.id, 1], [carol.id, 2], [dave.id, 3]])))
  assert.deepEqual([...(await hops(w.store, alice.id, 0))], [[alice.id, 0]])
  await w.block(alice, carol)
  assert.deepEqual(asObject(await hops(w.store, alice.id, 5)), asObject(new Map([[alice.id, 0], [bob.id, 1], [eve.id, 1]])))
  await assert.rejects(hops(w.store, alice.id, -1), RangeError)
})

test('hashtags: channel, #mentions and #tags in text, normalized; entities and anchors are not tags', async (t) => {
  const w = await world(t)
  await w.post(alice, 'Hello #SSB and #ssb, #Scuttle-butt! &#35;no page#anchor', { channel: '#Dev', mentions: [{ link: '#Music' }, '#Films'] })
  await w.post(bob, 'just a channel', { channel: 'ssb' })
  await w.post(carol, 'nothing here #')
  await w.add(bob, boxContent({ type: 'post', text: 'secret #ssb' }, [alice.id]))
  for (const tag of ['ssb', '#SSB', 'Ssb']) assert.deepEqual(texts((await hashtagFeed(w.store, tag)).items), ['just a channel', 'Hello #SSB and #ssb, #Scuttle-butt! &#35;no page#anchor'])
  for (const tag of ['scuttle-butt', 'dev', 'music', 'films']) assert.equal((await hashtagFeed(w.store, tag)).items.length, 1, tag)
  for (const tag of ['no', 'anchor', '35', '', '#']) assert.equal((await hashtagFeed(w.store, tag)).items.length, 0, tag)
  const { sizes } = await allPages((o) => hashtagFeed(w.store, 'ssb', o), 1)
  assert.deepEqual(sizes.filter((n) => n > 0), [1, 1])
})

test('backlinks: every ref anywhere in public content, once per message', async (t) => {
  const w = await world(t)
  const root = await w.post(alice, 'root')
  const reply = await w.post(bob, 'reply', {
    root: root.key, branch: [root.key], mentions: [{ link: alice.id, name: 'alice' }, { link: BLOB, type: 'image/png' }, carol.id],
    deep: { nested: [[{ again: root.key }]] },
  })
  const vote = await w.vote(carol, root.key, 1)
  const contact = await w.follow(dave, alice)
  await w.add(bob, boxContent({ type: 'post', text: 'private', root: root.key }, [alice.id]))
  await w.post(eve, `text quoting ${root.key} is not a link`)

  assert.deepEqual(keys((await backlinksOf(w.store, root.key)).items), [vote.key, reply.key])
  assert.deepEqual(keys((await backlinksOf(w.store, alice.id)).items), [contact.key, reply.key])
  assert.deepEqual(keys((await backlinksOf(w.store, BLOB)).items), [reply.key])
  assert.deepEqual(keys((await backlinksOf(w.store, carol.id)).items), [reply.key])
  assert.deepEqual((await backlinksOf(w.store, reply.key)).items, [])
  assert.throws(() => backlinksOf(w.store, '%short.sha256' as MessageId), InvalidRefError)
})

test('notifications: mentions, replies in my threads, likes, new followers; not mine, not blocked', async (t) => {
  const w = await world(t)
  const mine = await w.post(alice, 'my root', {}, 0)
  const theirs = await w.post(carol, 'carol root', {}, 1)
  await w.post(alice, 'my reply', { root: theirs.key, branch: theirs.key }, 2)
  const mention = await w.post(bob, 'hey', { mentions: [{ link: alice.id, name: 'alice' }] }, 3)
  const textMention = await w.post(carol, `cc ${alice.id}`, {}, 4)
  const reply = await w.post(bob, 'reply to alice', { root: mine.key, branch: mine.key }, 5)
  const replyThere = await w.post(dave, 'reply where alice replied', { root: theirs.key, branch: theirs.key }, 6)
  const both = await w.post(dave, 'reply that mentions', { root: mine.key, branch: mine.key, mentions: [alice.id] }, 7)
  const like = await w.add(carol, { type: 'vote', vote: { link: mine.key, value: 1 } }, 8)
  await w.add(dave, { type: 'vote', vote: { link: mine.key, value: -1 } }, 9)
  await w.add(dave, { type: 'vote', vote: { link: theirs.key, value: 1 } }, 10)
  const follow = await w.add(bob, { type: 'contact', contact: alice.id, following: true }, 11)
  await w.add(dave, { type: 'contact', contact: alice.id, following: true }, 12)
  await w.add(dave, { type: 'contact', contact: alice.id, following: false }, 13)
  await w.post(alice, `self mention ${alice.id}`, { root: mine.key }, 14)
  await w.add(alice, { type: 'vote', vote: { link: mine.key, value: 1 } }, 15)
  await w.add(alice, { type: 'contact', contact: eve.id, blocking: true }, 16)
  await w.post(eve, 'blocked mention', { mentions: [alice.id], root: mine.key }, 17)
  await w.add(bob, boxContent({ type: 'post', text: 'private mention', mentions: [alice.id] }, [alice.id]), 18)
  await w.add(carol, { type: 'vote', vote: { link: textMention.key, value: 1 } }, 19)

  const expected = [
    ['follow', follow.key], ['like', like.key], ['mention', both.key], ['reply', replyThere.key],
    ['reply', reply.key], ['mention', textMention.key], ['mention', mention.key],
  ]
  const page = await notifications(w.store, alice.id)
  assert.deepEqual(page.items.map((n) => [n.kind, n.message.key]), expected)
  const paged = await allPages((o) => notifications(w.store, alice.id, o), 2)
  assert.deepEqual(paged.items.map((n) => [n.kind, n.message.key]), expected)
  assert.deepEqual(paged.sizes, [2, 2, 2, 1])
  assert.deepEqual((await notifications(w.store, eve.id)).items.map((n) => n.kind), ['reply', 'reply', 'reply'], 'eve replied in my thread')

  // Later calls see what changed since: a new thread of mine and its reply, a like withdrawn, a new like.
  const second = await w.post(alice, 'second root', {}, 20)
  const secondReply = await w.post(dave, 'reply to the second', { root: second.key, branch: second.key }, 21)
  await w.add(carol, { type: 'vote', vote: { link: mine.key, value: 0 } }, 22)
  const secondLike = await w.add(bob, { type: 'vote', vote: { link: second.key, value: 1 } }, 23)
  const changed = [['like', secondLike.key], ['reply', secondReply.key], ...expected.filter(([, key]) => key !== like.key)]
  assert.deepEqual((await notifications(w.store, alice.id)).items.map((n) => [n.kind, n.message.key]), changed)
  assert.deepEqual((await notifications(w.store, generateIdentity(Buffer.alloc(32, 6)).id)).items, [])
})

/** Reads what a live stream yields until `count` items arrived. */
async function take<T>(stream: AsyncIterable<T>, count: number): Promise<T[]> {
  const out: T[] = []
  if (count === 0) return out
  for await (const item of stream) {
    out.push(item)
    if (out.length === count) break
  }
  return out
}

/** A store whose subscriptions are counted, to see live queries let go. */
function countingSubscriptions(store: Store): { store: Store; active: () => number } {
  let active = 0
  const counted = Object.create(store) as Store
  counted.subscribe = (listener) => {
    active++
    const off = store.subscribe(listener)
    let done = false
    return () => {
      if (!done) active--
      done = true
      off()
    }
  }
  return { store: counted, active: () => active }
}

test('liveQuery delivers what is stored after it, in order, and unsubscribes on return or abort', async (t) => {
  const w = await world(t)
  await w.post(alice, 'before')
  const { store, active } = countingSubscriptions(w.store)
  const stream = liveQuery(store, (m) => (m.value.content as { type?: string }).type === 'post')
  assert.equal(active(), 1, 'subscribed on creation, before anyone reads')
  await w.post(alice, 'one')
  await w.add(alice, { type: 'vote', vote: { link: '%FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA=.sha256', value: 1 } })
  const first = await stream.next()
  const pending = stream.next()
  await w.post(bob, 'two')
  assert.deepEqual(texts([first.value as IndexedMessage, (await pending).value as IndexedMessage]), ['one', 'two'])
  await stream.return()
  assert.equal(active(), 0)
  await w.post(alice, 'after return')
  assert.deepEqual(await stream.next(), { done: true, value: undefined })

  const controller = new AbortController()
  const aborted = liveQuery(store, () => true, { signal: controller.signal })
  const waiting = aborted.next()
  controller.abort()
  assert.deepEqual(await waiting, { done: true, value: undefined })
  assert.equal(active(), 0)
  const never = liveQuery(store, () => true, { signal: controller.signal })
  assert.equal(active(), 0, 'an aborted signal never subscribes')
  assert.deepEqual(await never.next(), { done: true, value: undefined })

  const breaking = liveQuery(store, () => true)
  await w.post(carol, 'x')
  await w.post(carol, 'y')
  assert.deepEqual(texts(await take(breaking, 1)), ['x'])
  assert.equal(active(), 0, 'break out of for-await unsubscribes')

  const failing = liveQuery(store, () => {
    throw new Error('boom')
  })
  await w.post(carol, 'z')
  await assert.rejects(failing.next(), /boom/)
  assert.equal(active(), 0)
})

test('live twins: home feed follows follows, notifications, thread, tags, backlinks, votes, contacts, about', async (t) => {
  const w = await world(t)
  const { store, active } = countingSubscriptions(w.store)
  const root = await w.post(alice, 'root')
  await w.follow(alice, bob)
  const controller = new AbortController()
  const signal = controller.signal
  const home = homeFeedLive(store, alice.id, { signal })
  const notes = notificationsLive(store, alice.id, { signal })
  const replies = threadLive(store, root.key, { signal })
  const bobs = profilePostsLive(store, bob.id, { signal })
  const tagged = hashtagFeedLive(store, '#SSB', { signal })
  const links = backlinksOfLive(store, root.key, { signal })
  const votes = votesLive(store, root.key, { signal })
  const contacts = contactsLive(store, alice.id, { signal })
  const abouts = profileLive(store, alice.id, { signal })

  await w.post(bob, 'bob #ssb', { root: root.key, branch: root.key })
  await w.post(carol, 'carol, not followed yet')
  await w.follow(alice, carol)
  await w.post(carol, `carol, followed, mentions ${alice.id}`)
  await w.add(bob, boxContent({ type: 'post', text: 'private #ssb', root: root.key, mentions: [alice.id] }, [alice.id]))
  await w.vote(dave, root.key, 1)
  await w.follow(dave, alice)
  await w.add(dave, { type: 'about', about: alice.id, name: 'Al' })
  await w.block(alice, bob)
  await w.post(bob, 'bob, blocked now')

  assert.deepEqual(texts(await take(home, 2)), ['bob #ssb', `carol, followed, mentions ${alice.id}`])
  assert.deepEqual((await take(notes, 4)).map((n) => n.kind), ['reply', 'mention', 'like', 'follow'])
  assert.deepEqual(texts(await take(replies, 1)), ['bob #ssb'])
  assert.deepEqual(texts(await take(bobs, 2)), ['bob #ssb', 'bob, blocked now'])
  assert.deepEqual(texts(await take(tagged, 1)), ['bob #ssb'])
  assert.equal((await take(links, 2)).length, 2)
  assert.equal((await take(votes, 1)).length, 1)
  assert.deepEqual((await take(contacts, 3)).map((m) => m.value.author), [alice.id, dave.id, alice.id])
  assert.deepEqual((await take(abouts, 1)).map((m) => m.value.author), [dave.id])
  // What is left is the follower of alice's own messages that notifications keep per store
  // (the store drops it when it closes).
  assert.equal(active(), 1, 'every stream ended by its break')

  const again = homeFeedLive(store, alice.id, { signal })
  const next = again.next()
  await w.post(bob, 'still blocked')
  await w.post(carol, 'carol again')
  assert.equal(texts([(await next).value as IndexedMessage])[0], 'carol again')
  controller.abort()
  assert.deepEqual(await again.next(), { done: true, value: undefined })
  assert.equal(active(), 1)
})

test('indexes rebuilt from the log answer exactly as indexes written while appending', async (t) => {
  const w = await world(t)
  const root = await w.post(alice, 'root #tag', { mentions: [bob.id] }, 0)
  await w.follow(alice, bob)
  await w.follow(bob, alice)
  await w.follow(alice, carol)
  await w.block(alice, carol)
  const reply = await w.post(bob, 'reply', { root: root.key, branch: root.key, mentions: [alice.id] }, 2)
  await w.post(carol, 'reply 2', { root: root.key, branch: [reply.key] }, 1)
  await w.vote(bob, root.key, 1)
  await w.vote(carol, root.key, 1)
  await w.vote(carol, root.key, 0)
  await w.add(alice, { type: 'about', about: alice.id, name: 'Alice' })
  await w.add(bob, { type: 'about', about: alice.id, name: 'Al' })
  await w.add(bob, boxContent({ type: 'post', text: 'private #tag', root: root.key, mentions: [alice.id] }, [alice.id]), 3)
  await w.add(bob, boxContent({ type: 'vote', vote: { link: root.key, value: 1 } }, [alice.id]), 4)

  // The same log, appended to a store without indexes, then opened with them all.
  const dir = await tempDir(t)
  let copy = await openStore({ path: dir, create: true, identity: alice, indexes: [] })
  for await (const m of w.store.readLog()) assert.equal((await copy.append(m.value.author, [m.value])).accepted.length, 1)
  await copy.close()
  copy = await openStore({ path: dir, identity: alice, indexes: defaultIndexes() })
  t.after(() => copy.close())

  const answers = (store: Store) => Promise.all([
    homeFeed(store, alice.id).then((p) => keys(p.items)),
    profilePosts(store, bob.id).then((p) => keys(p.items)),
    thread(store, root.key).then((th) => [th.root?.key, ...keys(th.replies)]),
    votesFor(store, root.key),
    profile(store, alice.id),
    following(store, alice.id),
    blocked(store, alice.id),
    followers(store, alice.id),
    notifications(store, alice.id).then((p) => p.items.map((n) => [n.kind, n.message.key])),
    hashtagFeed(store, 'tag').then((p) => keys(p.items)),
    backlinksOf(store, root.key).then((p) => keys(p.items)),
    backlinksOf(store, alice.id).then((p) => keys(p.items)),
  ])
  const live = await answers(w.store)
  assert.deepEqual(await answers(copy), live)
  assert.deepEqual(live[3], { count: 1, voters: [bob.id] })
  assert.deepEqual(new Map(live[8] as Array<[string, string]>), new Map([['like', live[8]![0]![1]], ['mention', reply.key], ['follow', live[8]![2]![1]]]))
})
