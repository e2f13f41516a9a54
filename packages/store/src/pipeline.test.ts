// The store prepares (checks, indexes) one write while the one before it is being written. These
// tests pin down what that must never change: appends keep their order, a message still in a
// queued write is recognised as held, and a failed write takes down every write prepared on top
// of it while the store's view (feed states, lastOffset, listeners) stays at what is on disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity } from '@hearsay/keys'
import { openStore, type Store } from './index.ts'
import { stageFeeds } from './store.ts'
import { collect, posts, signChain, tempDir } from './test-helpers.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))

/** Slows every batch write down a little, and makes the `nth` (1-based) one from now on fail. */
function failNthWrite(store: Store, nth: number): void {
  // Reaches into the store's database: there is no other way to make LevelDB fail on cue.
  const db = (store as unknown as { db: { batch(): { write(): Promise<void>; close(): Promise<void> } } }).db
  const original = db.batch.bind(db)
  let count = 0
  db.batch = () => {
    const chained = original()
    const write = chained.write.bind(chained)
    const mine = ++count
    chained.write = async () => {
      await new Promise((resolve) => setTimeout(resolve, 30))
      if (mine !== nth) return write()
      await chained.close()
      throw new Error('disk on fire')
    }
    return chained
  }
}

test('a failed write refuses the writes prepared on it, and the store carries on from what is on disk', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true })
  t.after(() => store.close())
  const a = signChain(alice, posts(8)).map((m) => m.value)
  const b = signChain(bob, posts(2)).map((m) => m.value)
  const seen: number[] = []
  store.subscribe((m) => seen.push(m.offset))
  failNthWrite(store, 2)
  const w1 = stageFeeds(store, [{ feed: alice.id, values: a.slice(0, 2) }])
  const w2 = stageFeeds(store, [{ feed: alice.id, values: a.slice(2, 4) }])
  const w3 = stageFeeds(store, [{ feed: alice.id, values: a.slice(4, 6) }, { feed: bob.id, values: b }])
  await (await w1).committed
  await assert.rejects((await w2).committed, /disk on fire/)
  const third = await w3
  assert.equal(third.results[0]!.accepted.length, 2, 'the third write was prepared on the states the second would have left')
  await assert.rejects(third.committed, /disk on fire/)

  assert.equal(store.lastOffset, 2)
  assert.equal((await store.feedStatus(alice.id))?.sequence, 2)
  assert.equal(await store.feedStatus(bob.id), null)
  assert.deepEqual(seen, [1, 2], 'listeners heard of written messages only')
  const again = await store.append(alice.id, a.slice(2))
  assert.deepEqual(again.accepted.map((m) => m.offset), [3, 4, 5, 6, 7, 8])
  const bobs = await store.append(bob.id, b)
  assert.deepEqual(bobs.accepted.map((m) => m.offset), [9, 10])
  assert.deepEqual((await collect(store.readLog())).map((m) => m.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  assert.equal((await store.feedStatus(alice.id))?.sequence, 8)
})

test('appends made without waiting keep their order, and see messages of queued writes as held', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true })
  t.after(() => store.close())
  const a = signChain(alice, posts(300)).map((m) => m.value)
  const pending = []
  let sent = 0
  for (let i = 0; i < 300; i += 10) {
    sent += 10 + 10 + Math.min(i + 12, 300) - Math.max(0, i - 5)
    pending.push(store.append(alice.id, a.slice(i, i + 10)))
    // The same batch again, and one overlapping it, right behind it.
    pending.push(store.append(alice.id, a.slice(i, i + 10)))
    pending.push(store.append(alice.id, a.slice(Math.max(0, i - 5), i + 12)))
  }
  const results = await Promise.all(pending)
  for (const result of results) assert.ok(!result.rejected && !result.forked, result.rejected?.error.message)
  assert.equal(results.reduce((n, r) => n + r.accepted.length, 0), 300)
  assert.equal(results.reduce((n, r) => n + r.duplicates, 0), sent - 300, 'everything else came back as a duplicate')
  assert.equal(store.lastOffset, 300)
  const feed = await collect(store.readFeed(alice.id))
  assert.deepEqual(feed.map((m) => m.value.sequence), Array.from({ length: 300 }, (_, i) => i + 1))

  // A different message at a sequence held in a write still queued is a fork.
  const b = signChain(bob, posts(3)).map((m) => m.value)
  const other = signChain(bob, [{ type: 'post', text: 'other' }])[0]!.value
  const first = store.append(bob.id, b)
  const fork = store.append(bob.id, [other])
  assert.equal((await first).accepted.length, 3)
  assert.equal((await fork).forked?.sequence, 1)
})

test('publish builds on writes still queued', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true })
  t.after(() => store.close())
  const published = await Promise.all(Array.from({ length: 20 }, (_, i) => store.publish(alice, { type: 'post', text: `p${i}` })))
  assert.deepEqual(published.map((m) => m.value.sequence), Array.from({ length: 20 }, (_, i) => i + 1))
  assert.equal((await store.feedStatus(alice.id))?.sequence, 20)
})

test('a feed first met in a failed write is named right in the log, also after reopening', async (t) => {
  const dir = await tempDir(t)
  const store = await openStore({ path: dir, create: true })
  const carol = generateIdentity(Buffer.alloc(32, 3))
  const a = signChain(alice, posts(2))
  const b = signChain(bob, posts(2))
  const c = signChain(carol, posts(2))
  await store.append(alice.id, a.map((m) => m.value))
  failNthWrite(store, 1)
  // Bob is new: the write that fails is the one that would have recorded his feed number.
  const failed = await stageFeeds(store, [{ feed: bob.id, values: b.map((m) => m.value) }])
  await assert.rejects(failed.committed, /disk on fire/)
  await store.append(carol.id, c.map((m) => m.value))
  await store.append(bob.id, b.map((m) => m.value))
  const expected = [...a, ...c, ...b].map((m) => [m.value.author, m.key])
  assert.deepEqual((await collect(store.readLog())).map((m) => [m.value.author, m.key]), expected)
  await store.close()

  const reopened = await openStore({ path: dir })
  try {
    assert.deepEqual((await collect(reopened.readLog())).map((m) => [m.value.author, m.key]), expected)
    assert.deepEqual((await collect(reopened.readFeed(carol.id))).map((m) => m.key), c.map((m) => m.key))
    // A feed new after the reopen gets a number of its own.
    const d = signChain(generateIdentity(Buffer.alloc(32, 4)), posts(1))
    await reopened.append(d[0]!.value.author, d.map((m) => m.value))
    assert.deepEqual((await collect(reopened.readLog({ gt: 6 }))).map((m) => m.value.author), [d[0]!.value.author])
    assert.deepEqual((await collect(reopened.readFeed(alice.id))).map((m) => m.key), a.map((m) => m.key))
  } finally {
    await reopened.close()
  }
})
