// Reclaiming a feed: its messages leave the log, the by-feed and by-id lookups and every index,
// other feeds keep every byte they had, the feed is refused while reclaimed, and a reclaim
// killed mid-way finishes on the next open.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateIdentity, toBlobId, type FeedId, type Identity, type MessageId } from '@hearsay/keys'
import type { Content } from '@hearsay/message'
import {
  backlinksOf, defaultIndexes, feedMessageCounts, following, followers, hashtagFeed, homeFeed, messagesByType, openStore,
  profilePosts, reclaimFeeds, reclaimedFeeds, releaseReclaimedFeed, search, votesFor, StoreError, type Store,
} from './index.ts'
import { collect, signChain, tempDir } from './test-helpers.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const CHILD = path.join(here, 'testing', 'reclaim-child.ts')
const REPO = path.resolve(here, '..', '..', '..')

const blob = toBlobId(createHash('sha256').update('a picture').digest())

interface World {
  store: Store
  storePath: string
  alice: Identity
  bob: Identity
  carol: Identity
}

/** Alice (to be reclaimed) posts, tags, links a blob and follows; Bob and Carol reply, like and follow her. */
async function world(t: TestContext): Promise<World> {
  const storePath = path.join(await tempDir(t), 'store')
  const store = await openStore({ path: storePath, create: true })
  t.after(() => store.close())
  const [alice, bob, carol] = [generateIdentity(), generateIdentity(), generateIdentity()]
  const aliceMessages = signChain(alice, [
    { type: 'post', text: 'hello #gardening zucchini', mentions: [{ link: blob, name: 'pic' }] },
    { type: 'contact', contact: bob.id, following: true },
    { type: 'about', about: alice.id, name: 'alice' },
  ])
  const root = aliceMessages[0]!.key
  const bobContent: Content[] = [
    { type: 'post', text: 'bob says #gardening tomatoes' },
    { type: 'post', text: 'nice zucchini', root, branch: root },
    { type: 'vote', vote: { link: root, value: 1, expression: 'Like' } },
    { type: 'contact', contact: alice.id, following: true },
    { type: 'contact', contact: carol.id, following: true },
    { type: 'about', about: bob.id, name: 'bob' },
  ]
  // Interleaved, so Alice's offsets sit between the others' and the log's last entry is hers.
  const bobMessages = signChain(bob, bobContent)
  const carolMessages = signChain(carol, [{ type: 'post', text: 'carol on #gardening' }, { type: 'contact', contact: alice.id, following: true }])
  await store.append(bob.id, bobMessages.slice(0, 3).map((m) => m.value))
  await store.append(alice.id, aliceMessages.slice(0, 2).map((m) => m.value))
  await store.append(carol.id, carolMessages.map((m) => m.value))
  await store.append(bob.id, bobMessages.slice(3).map((m) => m.value))
  await store.append(alice.id, aliceMessages.slice(2).map((m) => m.value))
  return { store, storePath, alice, bob, carol }
}

/** Every index's entries, as hex `key=value` lines per index. */
async function indexSnapshot(store: Store): Promise<Map<string, string[]>> {
  const snapshot = new Map<string, string[]>()
  for (const { name } of defaultIndexes()) {
    const entries = await collect(store.indexReader(name).entries({}))
    snapshot.set(name, entries.map(([key, value]) => `${key.toString('hex')}=${value.toString('hex')}`))
  }
  return snapshot
}

/** What queries say about the people, to compare before and after. */
async function views(store: Store, w: World) {
  const keys = (page: { items: Array<{ key: string }> }) => page.items.map((m) => m.key)
  return {
    bobPosts: keys(await profilePosts(store, w.bob.id)),
    carolPosts: keys(await profilePosts(store, w.carol.id)),
    bobHome: keys(await homeFeed(store, w.bob.id)),
    tagged: keys(await hashtagFeed(store, 'gardening')),
    zucchini: keys(await search(store, 'zucchini')),
    contacts: keys(await messagesByType(store, 'contact')),
    blobLinks: keys(await backlinksOf(store, blob)),
    bobFollows: await following(store, w.bob.id),
    aliceFollowers: await followers(store, w.alice.id),
    aliceFollows: await following(store, w.alice.id),
  }
}

/** Reopened with every index's version bumped: each is rebuilt from the log alone. */
async function rebuiltFromLog(storePath: string): Promise<Map<string, string[]>> {
  const store = await openStore({ path: storePath, indexes: defaultIndexes().map((index) => ({ ...index, version: index.version + 1 })) })
  try {
    return await indexSnapshot(store)
  } finally {
    await store.close()
  }
}

function assertAliceGone(after: Awaited<ReturnType<typeof views>>, w: World, aliceKeys: string[]): void {
  const all = Object.values(after).flat()
  for (const key of aliceKeys) assert.ok(!all.includes(key), `no query returns Alice's ${key}`)
  assert.deepEqual(after.aliceFollows, [], 'Alice follows no one any more')
  assert.deepEqual(after.blobLinks, [], 'only Alice linked the blob')
  assert.deepEqual(after.zucchini.length, 1, "Bob's reply still matches zucchini")
  assert.deepEqual(new Set(after.aliceFollowers), new Set([w.bob.id, w.carol.id]), "others' follows of Alice are their data, kept")
}

test('reclaiming a feed deletes its messages and index entries and leaves every other feed as it was', async (t) => {
  const w = await world(t)
  const { store, alice, bob } = w
  const aliceKeys: string[] = (await collect(store.readFeed(alice.id))).map((m) => m.key)
  const otherMessages = (await collect(store.readLog())).filter((m) => m.value.author !== alice.id)
  const before = await views(store, w)
  const indexesBefore = await indexSnapshot(store)
  const lastOffset = store.lastOffset

  const progress: Array<{ index: string; done: number; total: number }> = []
  const result = await reclaimFeeds(store, [alice.id], ({ index, done, total }) => progress.push({ index, done, total }))
  assert.deepEqual(result, [{ feed: alice.id, messages: 3 }])
  for (const { name } of defaultIndexes()) {
    const last = progress.findLast((report) => report.index === name)
    assert.ok(last && last.done === last.total, `${name}'s rebuild reports it finished though Alice's offsets are gaps`)
  }

  assert.equal(await store.feedStatus(alice.id), null)
  assert.deepEqual(await collect(store.readFeed(alice.id)), [])
  for (const key of aliceKeys) assert.equal(await store.get(key as never), null, `${key} is gone from the by-id lookup`)
  assert.deepEqual(await collect(store.readLog()), otherMessages, "the log holds exactly the others' messages, offsets unchanged")
  const after = await views(store, w)
  assertAliceGone(after, w, aliceKeys)
  for (const name of ['bobPosts', 'carolPosts', 'contacts', 'bobFollows'] as const) {
    assert.deepEqual(after[name], (before[name] as string[]).filter((key: string) => !aliceKeys.includes(key)), name)
  }
  assert.deepEqual(await votesFor(store, aliceKeys[0] as MessageId), { count: 1, voters: [bob.id] }, "Bob's like is his data, kept")
  const indexesAfter = await indexSnapshot(store)
  for (const [name, entries] of indexesAfter) {
    const earlier = new Set(indexesBefore.get(name))
    for (const entry of entries) assert.ok(earlier.has(entry), `${name}: a reclaim only removes entries (${entry})`)
  }
  assert.deepEqual(await feedMessageCounts(store), [{ feed: bob.id, messages: 6 }, { feed: w.carol.id, messages: 2 }])

  // While reclaimed, the feed is refused: replication cannot bring it back.
  const again = await collect(store.readLog())
  assert.deepEqual(reclaimedFeeds(store), [alice.id])
  const refused = await store.append(alice.id, signChain(alice, [{ type: 'post', text: 'back again' }]).map((m) => m.value))
  assert.ok(refused.rejected?.error instanceof StoreError && refused.rejected.error.code === 'ESTORE_RECLAIMED')
  assert.deepEqual(await collect(store.readLog()), again)

  // What the reclaim left is what each index says of the remaining log, built from scratch.
  await store.close()
  assert.deepEqual(await rebuiltFromLog(w.storePath), indexesAfter)

  // Offsets are not reused, after a reopen too (Alice held the last one).
  const reopened = await openStore({ path: w.storePath })
  t.after(() => reopened.close())
  assert.equal(reopened.lastOffset, lastOffset)
  assert.deepEqual(reclaimedFeeds(reopened), [alice.id], 'the reclaim is remembered')
  const carolNext = signChain(w.carol, [{ type: 'post', text: 'after' }], await reopened.feedStatus(w.carol.id))
  const { accepted } = await reopened.append(w.carol.id, carolNext.map((m) => m.value))
  assert.equal(accepted[0]!.offset, lastOffset + 1)

  // Released (unblocked), the feed is accepted again from its first message.
  assert.equal(await releaseReclaimedFeed(reopened, alice.id), true)
  assert.equal(await releaseReclaimedFeed(reopened, alice.id), false)
  const back = await reopened.append(alice.id, signChain(alice, [{ type: 'post', text: 'back again' }]).map((m) => m.value))
  assert.equal(back.accepted.length, 1)
})

test('a reclaim killed while rebuilding indexes is finished by the next open', async (t) => {
  const w = await world(t)
  const aliceKeys = (await collect(w.store.readFeed(w.alice.id))).map((m) => m.key)
  await w.store.close()
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, w.storePath, w.alice.id], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (_code, killed) => resolve(killed))
  })
  assert.equal(signal, 'SIGKILL', `the child died mid-reclaim: ${stderr}`)

  const progress: string[] = []
  const store = await openStore({ path: w.storePath, onIndexProgress: ({ index }) => progress.push(index) })
  t.after(() => store.close())
  assert.ok(progress.length > 0, 'the indexes left stale by the crash are rebuilt on open')
  assert.deepEqual(reclaimedFeeds(store), [w.alice.id])
  assert.deepEqual(await collect(store.readFeed(w.alice.id)), [])
  assertAliceGone(await views(store, w), w, aliceKeys)
  const indexes = await indexSnapshot(store)
  await store.close()
  assert.deepEqual(await rebuiltFromLog(w.storePath), indexes, 'the indexes agree with the log')
})

test('several feeds are reclaimed in one go, and a feed the store never held is kept out too', async (t) => {
  const w = await world(t)
  const { store } = w
  const stranger = generateIdentity()
  const indexesBefore = await indexSnapshot(store)
  assert.deepEqual(await reclaimFeeds(store, [stranger.id]), [{ feed: stranger.id, messages: 0 }])
  assert.deepEqual(await indexSnapshot(store), indexesBefore, 'nothing to delete: the indexes are left as they were')
  assert.deepEqual(await reclaimFeeds(store, [w.alice.id, w.carol.id]), [{ feed: w.alice.id, messages: 3 }, { feed: w.carol.id, messages: 2 }])
  assert.deepEqual((await collect(store.readLog())).map((m) => m.value.author), Array(6).fill(w.bob.id))
  assert.deepEqual(new Set(reclaimedFeeds(store)), new Set([stranger.id, w.alice.id, w.carol.id]))
  const refused = await store.append(stranger.id, signChain(stranger, [{ type: 'post', text: 'hi' }]).map((m) => m.value))
  assert.equal((refused.rejected?.error as StoreError | undefined)?.code, 'ESTORE_RECLAIMED')
  await assert.rejects(reclaimFeeds(store, [w.bob.id, 'not a feed' as FeedId]), { code: 'EINVALIDREF' })
  assert.equal((await store.feedStatus(w.bob.id))?.sequence, 6, 'a bad id in the list reclaims nothing')
})
