import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { generateIdentity, readSecretFile, type FeedId, type Identity, type MessageId } from '@hearsay/keys'
import { boxContent } from '@hearsay/box1'
import type { Content, ValidMessage } from '@hearsay/message'
import { openStore, inbox, conversation, search, messagesByType, type Conversation, type Store } from './index.ts'
import { signChain, tempDir } from './test-helpers.ts'
import { appendInRuns } from './testing/fixtures.ts'
import { loadFixtureMessages, mainSecretPath } from '@hearsay/test-fixtures'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))
const carol = generateIdentity(Buffer.alloc(32, 3))
const dave = generateIdentity(Buffer.alloc(32, 4))

/** A private post (and its recps, as clients write them) boxed for `recps`. */
function dm(text: string, recps: FeedId[], extra: Record<string, unknown> = {}): string {
  return boxContent({ type: 'post', text, recps, ...extra }, recps)
}

/** Feeds of several authors, each signed at its own times, appended one feed at a time. */
class Network {
  private readonly chains = new Map<FeedId, ValidMessage[]>()

  /** Appends `content` as the next message of `author`, dated `time`. */
  post(author: Identity, content: Content, time: number): ValidMessage {
    const chain = this.chains.get(author.id) ?? []
    const last = chain.at(-1)
    const previous = last ? { id: last.key, sequence: last.value.sequence, timestamp: last.value.timestamp } : null
    const [message] = signChain(author, [content], previous, time)
    chain.push(message!)
    this.chains.set(author.id, chain)
    return message!
  }

  /** Every message so far, into each store, feed by feed. */
  async deliver(...stores: Store[]): Promise<void> {
    for (const store of stores) {
      for (const [feed, chain] of this.chains) {
        const result = await store.append(feed, chain.map((m) => m.value))
        assert.equal(result.rejected, undefined)
      }
    }
  }
}

const T = 1_700_000_000_000

async function allConversations(store: Store, limit = 50): Promise<Conversation[]> {
  const out: Conversation[] = []
  let cursor: string | undefined
  do {
    const page = await inbox(store, { limit, ...(cursor ? { cursor } : {}) })
    out.push(...page.items)
    cursor = page.cursor
  } while (cursor)
  return out
}

test('a 1:1 conversation: threaded by root, newest activity first, for both sides only', async (t) => {
  const net = new Network()
  const first = net.post(alice, dm('hi bob, lunch?', [alice.id, bob.id]), T)
  const reply = net.post(bob, dm('sure', [alice.id, bob.id], { root: first.key, branch: first.key }), T + 10)
  const other = net.post(alice, dm('different topic', [alice.id, bob.id]), T + 20)
  const publicPost = net.post(alice, { type: 'post', text: 'hello world' }, T + 30)
  const again = net.post(alice, dm('noon then', [alice.id, bob.id], { root: first.key, branch: reply.key }), T + 40)

  const [aliceStore, bobStore, carolStore, anonStore] = await Promise.all(
    [alice, bob, carol, null].map(async (identity) => openStore({ path: await tempDir(t), create: true, ...(identity ? { identity } : {}) })),
  )
  t.after(() => Promise.all([aliceStore, bobStore, carolStore, anonStore].map((s) => s!.close())))
  await net.deliver(aliceStore!, bobStore!, carolStore!, anonStore!)

  for (const store of [aliceStore!, bobStore!]) {
    const { items, cursor } = await inbox(store)
    assert.equal(cursor, undefined)
    assert.deepEqual(items.map((c) => c.root), [first.key, other.key], 'the reply at T+40 makes the first conversation the newest')
    assert.deepEqual(items.map((c) => c.count), [3, 1])
    assert.equal(items[0]!.latest.key, again.key)
    assert.equal(items[0]!.latest.private, true)
    assert.equal((items[0]!.latest.value.content as { text?: string }).text, 'noon then')
    assert.deepEqual(items[0]!.recps, [alice.id, bob.id])
    const thread = await conversation(store, first.key)
    assert.deepEqual(thread.map((m) => m.key), [first.key, reply.key, again.key])
    assert.ok(thread.every((m) => m.private === true))
    assert.deepEqual((await conversation(store, other.key)).map((m) => m.key), [other.key])
    assert.deepEqual(await conversation(store, publicPost.key), [], 'public messages are no conversation')
  }
  for (const store of [carolStore!, anonStore!]) {
    assert.deepEqual((await inbox(store)).items, [], 'not addressed to this store (or no identity): nothing')
    assert.deepEqual(await conversation(store, first.key), [])
  }
  assert.deepEqual((await messagesByType(bobStore!, 'post')).items.map((m) => m.key), [publicPost.key], 'private posts stay out of public queries')
  assert.deepEqual((await search(bobStore!, 'lunch')).items, [], 'and out of public search')
  assert.deepEqual((await search(bobStore!, 'lunch', { includePrivate: true })).items.map((m) => m.key), [first.key])
  assert.deepEqual((await search(carolStore!, 'lunch', { includePrivate: true })).items, [])
})

test('a group conversation: recps as strings or {link}, replies from several members, root first', async (t) => {
  const net = new Network()
  const group = [alice.id, bob.id, carol.id]
  const recps = [alice.id, { link: bob.id, name: 'bob' }, carol.id, { link: bob.id }, 'not a feed', 42]
  const root = net.post(alice, boxContent({ type: 'post', text: 'party at mine', recps }, group), T + 100)
  // Carol's clock runs behind: her reply claims to be older than the root it answers.
  const early = net.post(carol, dm('yes!', group, { root: { link: root.key } }), T + 50)
  const late = net.post(bob, dm('what time?', group, { root: root.key }), T + 200)
  // Not for dave, and dave's own conversation with alice is separate.
  const mine = net.post(dave, dm('hi alice', [dave.id, alice.id]), T + 300)

  const stores = await Promise.all([alice, bob, carol, dave].map(async (identity) => openStore({ path: await tempDir(t), create: true, identity })))
  t.after(() => Promise.all(stores.map((s) => s.close())))
  await net.deliver(...stores)
  const [aliceStore, bobStore, carolStore, daveStore] = stores

  const aliceInbox = await allConversations(aliceStore!)
  assert.deepEqual(aliceInbox.map((c) => c.root), [mine.key, root.key])
  assert.deepEqual(aliceInbox.map((c) => c.recps), [[dave.id, alice.id], group])
  for (const store of [aliceStore!, bobStore!, carolStore!]) {
    const convo = (await allConversations(store)).find((c) => c.root === root.key)
    assert.equal(convo?.count, 3)
    assert.equal(convo?.latest.key, late.key)
    assert.deepEqual((await conversation(store, root.key)).map((m) => m.key), [root.key, early.key, late.key], 'root first, then by time')
  }
  assert.deepEqual((await allConversations(daveStore!)).map((c) => c.root), [mine.key])
  assert.deepEqual(await conversation(daveStore!, root.key), [])
  assert.deepEqual(await conversation(aliceStore!, 'not an id' as MessageId), [])
})

test('the inbox pages by cursor, listing each conversation once at its newest message', async (t) => {
  const net = new Network()
  const roots: ValidMessage[] = []
  for (let i = 0; i < 7; i++) roots.push(net.post(alice, dm(`topic ${i}`, [alice.id, bob.id]), T + i * 10))
  // Two replies to each even topic, later ones later: the order becomes 6, 4, 2, 0, then 5, 3, 1.
  for (const i of [0, 2, 4, 6]) {
    net.post(bob, dm(`re ${i}`, [alice.id, bob.id], { root: roots[i]!.key }), T + 1000 + i * 10)
    net.post(bob, dm(`re re ${i}`, [alice.id, bob.id], { root: roots[i]!.key }), T + 1000 + i * 10 + 1)
  }
  const store = await openStore({ path: await tempDir(t), create: true, identity: bob })
  t.after(() => store.close())
  await net.deliver(store)

  const pages: Conversation[][] = []
  let cursor: string | undefined
  do {
    const page = await inbox(store, { limit: 3, ...(cursor ? { cursor } : {}) })
    pages.push(page.items)
    cursor = page.cursor
  } while (cursor)
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 1])
  assert.deepEqual(pages.flat().map((c) => roots.findIndex((r) => r.key === c.root)), [6, 4, 2, 0, 5, 3, 1])
  assert.deepEqual(pages.flat().map((c) => c.count), [3, 3, 3, 3, 1, 1, 1])
  await assert.rejects(inbox(store, { cursor: 'AAAA' }), RangeError)
})

// ---- The 10k fixture ----

const secretFile = mainSecretPath('10k')

test('10k fixture: the inbox holds exactly the messages ssb-keys can unbox for the main identity', async (t) => {
  const ssbKeys = createRequire(import.meta.url)('ssb-keys') as { unbox(boxed: string, keys: object): unknown }
  const secret = JSON.parse(readFileSync(secretFile, 'utf8').replace(/\s*#[^\n]*/g, '')) as object
  const messages = await loadFixtureMessages('10k')
  const expected = new Set<string>()
  let boxed = 0
  for (const message of messages) {
    if (typeof message.value.content !== 'string') continue
    boxed++
    if (ssbKeys.unbox(message.value.content, secret) !== undefined) expected.add(message.key)
  }
  assert.ok(boxed > expected.size && expected.size > 0, 'some, not all, private messages are for us')

  const store = await openStore({ path: await tempDir(t), create: true, identity: await readSecretFile(secretFile) })
  t.after(() => store.close())
  await appendInRuns(store, messages)

  const started = performance.now()
  const conversations = await allConversations(store, 100)
  const listed = performance.now() - started
  const found = new Set<string>()
  let counted = 0
  for (const convo of conversations) {
    const thread = await conversation(store, convo.root)
    assert.equal(thread.length, convo.count)
    const sortTimes = thread.map((m) => Math.min(m.value.timestamp, m.timestamp))
    assert.equal(sortTimes[thread.findIndex((m) => m.key === convo.latest.key)], Math.max(...sortTimes), 'latest is the newest')
    for (const message of thread) {
      assert.equal(message.private, true)
      assert.ok(!found.has(message.key), 'each message belongs to one conversation')
      found.add(message.key)
    }
    counted += convo.count
  }
  assert.equal(new Set(conversations.map((c) => c.root)).size, conversations.length, 'each conversation listed once')
  assert.equal(counted, expected.size)
  assert.deepEqual([...found].sort(), [...expected].sort())
  const times = conversations.map((c) => Math.min(c.latest.value.timestamp, c.latest.timestamp))
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest activity first')
  console.log(`10k inbox: ${expected.size} of ${boxed} private messages are for us, in ${conversations.length} conversations; listing all took ${listed.toFixed(1)} ms`)
})
