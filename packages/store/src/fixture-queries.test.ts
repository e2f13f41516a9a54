// The social queries against the shared 10k-message fixture (ssb-fixtures: 100 authors, posts
// with replies and mentions, votes, contacts, abouts, box1 private messages), each checked
// against a brute-force computation over the parsed NDJSON. The fixture is read with zlib on the
// fly and imported into a temp store; it is never copied into the repository.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadFixtureMessages, mainSecretPath } from '@hearsay/test-fixtures'
import { readSecretFile, type FeedId, type Identity, type MessageId } from '@hearsay/keys'
import {
  openStore, homeFeed, profilePosts, thread, profile, followers, following, blocked, hops, notifications,
  hashtagFeed, votesFor, backlinksOf, type IndexedMessage, type Page, type PageOptions, type Store,
} from './index.ts'
import { homeFeedPage, HOME_SCAN_BUDGET } from './queries/feeds.ts'

const SECRET = mainSecretPath('10k')

// From report-10k.md: messages per hop distance (hop 3 meaning "3 or more") and the main feed.
const REPORT_MAIN = '@aea+VHmAieeF+1OKkOMDnH1njRsohT7+HaPYPJ0JChk=.ed25519'
const REPORT_HOPS = [1001, 3472, 4456, 1071]

type Content = Record<string, unknown> & { type: string }
interface FixtureMessage {
  key: MessageId
  value: { author: FeedId; sequence: number; timestamp: number; content: Content | string }
  timestamp: number
}
interface Fixture {
  store: Store
  me: Identity
  all: FixtureMessage[]
  /** Messages with public (object) content, in file order: each feed in sequence order. */
  pub: Array<FixtureMessage & { value: { content: Content } }>
  offsetOf: Map<MessageId, number>
  authors: FeedId[]
}

let loaded: Promise<Fixture> | null = null
let cleanup: (() => Promise<void>) | null = null
after(() => cleanup?.())

function fixture(): Promise<Fixture> {
  loaded ??= load()
  return loaded
}

async function load(): Promise<Fixture> {
  const all = (await loadFixtureMessages('10k')) as unknown as FixtureMessage[]
  const me = await readSecretFile(SECRET)
  const dir = await mkdtemp(path.join(tmpdir(), 'hearsay-fixture-queries-'))
  const store = await openStore({ path: dir, create: true, identity: me })
  cleanup = async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  const byFeed = new Map<FeedId, unknown[]>()
  for (const m of all) {
    const list = byFeed.get(m.value.author) ?? []
    list.push(m.value)
    byFeed.set(m.value.author, list)
  }
  const offsetOf = new Map<MessageId, number>()
  const started = performance.now()
  for (const [feed, values] of byFeed) {
    for (let i = 0; i < values.length; i += 500) {
      const result = await store.append(feed, values.slice(i, i + 500))
      assert.equal(result.rejected, undefined, String(result.rejected?.error))
      for (const m of result.accepted) offsetOf.set(m.key, m.offset)
    }
  }
  const ms = performance.now() - started
  console.log(`imported ${all.length} fixture messages (${byFeed.size} feeds, chunks of 500) in ${ms.toFixed(0)} ms: ${Math.round((all.length / ms) * 1000)} msgs/s`)
  const pub = all.filter((m): m is FixtureMessage & { value: { content: Content } } => typeof m.value.content === 'object' && m.value.content !== null)
  return { store, me, all, pub, offsetOf, authors: [...byFeed.keys()] }
}

const REF = /^(?:@[A-Za-z0-9+/]{43}=\.ed25519|[%&][A-Za-z0-9+/]{43}=\.sha256)$/
const isMsgId = (v: unknown): v is MessageId => typeof v === 'string' && v[0] === '%' && REF.test(v)
const isFeed = (v: unknown): v is FeedId => typeof v === 'string' && v[0] === '@' && REF.test(v)

/** Newest first, as the store sorts: sortTime (the author's timestamp here), then offset. */
function newestFirst(f: Fixture, messages: readonly FixtureMessage[]): MessageId[] {
  return [...messages]
    .sort((a, b) => b.value.timestamp - a.value.timestamp || f.offsetOf.get(b.key)! - f.offsetOf.get(a.key)!)
    .map((m) => m.key)
}

async function allPages<T>(query: (options: PageOptions) => Promise<Page<T>>, limit = 100): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await query({ limit, ...(cursor ? { cursor } : {}) })
    items.push(...page.items)
    cursor = page.cursor
  } while (cursor)
  return items
}

const keys = (messages: readonly IndexedMessage[]) => messages.map((m) => m.key)

/** Contact edges as ssb-friends keeps them: the latest message per (from, to) decides. */
function edges(f: Fixture): Map<FeedId, Map<FeedId, 'follow' | 'block'>> {
  const out = new Map<FeedId, Map<FeedId, 'follow' | 'block'>>()
  for (const m of f.pub) {
    const c = m.value.content
    if (c.type !== 'contact' || !isFeed(c.contact)) continue
    const mine = out.get(m.value.author) ?? new Map<FeedId, 'follow' | 'block'>()
    out.set(m.value.author, mine)
    if (c.blocking === true || c.flagged === true) mine.set(c.contact, 'block')
    else if (c.following === true) mine.set(c.contact, 'follow')
    else mine.delete(c.contact)
  }
  return out
}

function edgeSet(graph: Map<FeedId, Map<FeedId, string>>, from: FeedId, state: string): Set<FeedId> {
  return new Set([...(graph.get(from) ?? [])].filter(([, s]) => s === state).map(([to]) => to))
}

/** The main identity's home feed, computed from the parsed fixture. */
function expectedHome(f: Fixture): { authors: Set<FeedId>; expected: MessageId[] } {
  const graph = edges(f)
  const authors = new Set([f.me.id, ...edgeSet(graph, f.me.id, 'follow')])
  for (const feed of edgeSet(graph, f.me.id, 'block')) authors.delete(feed)
  return { authors, expected: newestFirst(f, f.pub.filter((m) => m.value.content.type === 'post' && authors.has(m.value.author))) }
}

test('fixture: the home feed is the newest posts of followed feeds and me, less blocks', async () => {
  const f = await fixture()
  assert.equal(f.me.id, REPORT_MAIN)
  const { authors, expected } = expectedHome(f)
  assert.equal(new Set(f.pub.map((m) => m.value.timestamp)).size, f.pub.length, 'fixture timestamps are distinct: the order is unambiguous')

  let started = performance.now()
  const first = await homeFeed(f.store, f.me.id)
  const cold = performance.now() - started
  started = performance.now()
  await homeFeed(f.store, f.me.id)
  const warm = performance.now() - started
  console.log(`home feed first page (${first.items.length} of ${expected.length} posts by ${authors.size} feeds): ${cold.toFixed(1)} ms cold, ${warm.toFixed(1)} ms warm`)
  assert.deepEqual(keys(first.items), expected.slice(0, 50))
  const second = await homeFeed(f.store, f.me.id, { cursor: first.cursor! })
  assert.deepEqual(keys(second.items), expected.slice(50, 100))
  assert.deepEqual(keys(await allPages((o) => homeFeed(f.store, f.me.id, o), 500)), expected)
})

test('fixture: the home feed is the same whether it walks the time line, merges author lists, or switches mid-page', async () => {
  const f = await fixture()
  const { expected } = expectedHome(f)
  assert.ok(expected.length > 500, `${expected.length} posts`)
  // From "merge only", through switches at many points of a page, to "never merge".
  const cases = [[0, 50], [1, 50], [49, 50], [50, 50], [51, 50], [333, 50], [HOME_SCAN_BUDGET, 50], [Number.MAX_SAFE_INTEGER, 50], [20, 7]]
  for (const [budget, limit] of cases) {
    const pages = await allPages((o) => homeFeedPage(f.store, f.me.id, o, budget!), limit)
    assert.deepEqual(keys(pages), expected, `budget ${budget}, pages of ${limit}`)
  }
})

test('fixture: profile posts, all pages', async () => {
  const f = await fixture()
  for (const feed of f.authors.slice(0, 10)) {
    const expected = newestFirst(f, f.pub.filter((m) => m.value.content.type === 'post' && m.value.author === feed))
    assert.deepEqual(keys(await allPages((o) => profilePosts(f.store, feed, o), 37)), expected, feed)
  }
})

test('fixture: followers, following and blocks of every feed', async () => {
  const f = await fixture()
  const graph = edges(f)
  for (const feed of f.authors) {
    assert.deepEqual(new Set(await following(f.store, feed)), edgeSet(graph, feed, 'follow'), `following ${feed}`)
    assert.deepEqual(new Set(await blocked(f.store, feed)), edgeSet(graph, feed, 'block'), `blocked ${feed}`)
    const expectedFollowers = new Set(f.authors.filter((from) => graph.get(from)?.get(feed) === 'follow'))
    assert.deepEqual(new Set(await followers(f.store, feed)), expectedFollowers, `followers ${feed}`)
  }
})

test('fixture: hops match a brute-force BFS, and relate to report-10k.md as the semantics predict', async () => {
  const f = await fixture()
  const graph = edges(f)
  const myBlocks = edgeSet(graph, f.me.id, 'block')
  const bfs = (follows: (feed: FeedId) => Iterable<FeedId>, exclude: Set<FeedId>, max: number) => {
    const distance = new Map<FeedId, number>([[f.me.id, 0]])
    let frontier = [f.me.id]
    for (let hop = 1; hop <= max; hop++) {
      const next: FeedId[] = []
      for (const feed of frontier) {
        for (const to of follows(feed)) {
          if (distance.has(to) || exclude.has(to)) continue
          distance.set(to, hop)
          next.push(to)
        }
      }
      frontier = next
    }
    return distance
  }
  for (const max of [1, 2, 3]) {
    const expected = bfs((feed) => edgeSet(graph, feed, 'follow'), myBlocks, max)
    assert.deepEqual(new Map([...(await hops(f.store, f.me.id, max))].sort()), new Map([...expected].sort()), `maxHops ${max}`)
  }

  // ssb-fixtures computes its report with its own bookkeeping: a follow stays until an explicit
  // unfollow (blocks are tracked apart), and nothing is excluded. Replayed here, it gives the
  // report's numbers exactly, which pins down the parsing.
  const fixtureFollows = new Map<FeedId, Set<FeedId>>()
  for (const m of f.pub) {
    const c = m.value.content
    if (c.type !== 'contact') continue
    const set = fixtureFollows.get(m.value.author) ?? new Set<FeedId>()
    fixtureFollows.set(m.value.author, set)
    if (c.following === true) set.add(c.contact as FeedId)
    else if (c.following === false) set.delete(c.contact as FeedId)
  }
  const perHop = (distance: Map<FeedId, number>) => {
    const counts = [0, 0, 0, 0]
    for (const m of f.all) counts[Math.min(distance.get(m.value.author) ?? 3, 3)]!++
    return counts
  }
  const reportDistance = bfs((feed) => fixtureFollows.get(feed) ?? [], new Set(), 2)
  assert.deepEqual(perHop(reportDistance), REPORT_HOPS)

  // Ours is ssb-friends' graph: a later block (or `blocking: false`) ends a follow, and feeds
  // I block are left out. So no feed is nearer than the report says, hop 0 agrees, and every
  // feed the report puts further out is explained by a block.
  const ours = await hops(f.store, f.me.id, 2)
  const oursPerHop = perHop(ours)
  console.log(`messages per hop (0, 1, 2, 3+): report ${REPORT_HOPS.join(', ')}; hops() ${oursPerHop.join(', ')} (${myBlocks.size} feeds blocked by main)`)
  assert.equal(oursPerHop[0], REPORT_HOPS[0])
  for (const [feed, hop] of ours) assert.ok(hop >= (reportDistance.get(feed) ?? 3), `${feed} is nearer than the report says`)
  const endedFollows = [...fixtureFollows].flatMap(([from, set]) => [...set].filter((to) => graph.get(from)?.get(to) !== 'follow').map((to) => [from, to]))
  assert.ok(endedFollows.every(([from, to]) => f.pub.some((m) => m.value.author === from && m.value.content.type === 'contact' && m.value.content.contact === to && 'blocking' in m.value.content)))
})

test('fixture: threads hold exactly the public replies, in causal order', async () => {
  const f = await fixture()
  const replies = new Map<MessageId, MessageId[]>()
  for (const m of f.pub) {
    const root = m.value.content.root
    if (!isMsgId(root)) continue
    replies.set(root, [...(replies.get(root) ?? []), m.key])
  }
  const publicKeys = new Set(f.pub.map((m) => m.key))
  let checked = 0
  for (const [root, expected] of replies) {
    const got = await thread(f.store, root)
    assert.deepEqual(new Set(keys(got.replies)), new Set(expected), root)
    assert.equal(got.root?.key ?? null, publicKeys.has(root) ? root : null)
    const position = new Map(got.replies.map((m, i) => [m.key, i]))
    for (const reply of got.replies) {
      const content = reply.value.content as Content
      const branches = Array.isArray(content.branch) ? content.branch : [content.branch]
      for (const branch of branches) {
        const at = position.get(branch as MessageId)
        if (at !== undefined) assert.ok(at < position.get(reply.key)!, `${reply.key} comes after ${String(branch)}`)
      }
    }
    checked++
  }
  assert.ok(checked > 100, `${checked} threads`)
})

test('fixture: votes count the latest vote of each feed, likes only', async () => {
  const f = await fixture()
  const latest = new Map<MessageId, Map<FeedId, number>>()
  for (const m of f.pub) {
    const vote = m.value.content.vote as { link?: unknown; value?: unknown } | undefined
    if (m.value.content.type !== 'vote' || !vote || !isMsgId(vote.link)) continue
    const perTarget = latest.get(vote.link) ?? new Map<FeedId, number>()
    perTarget.set(m.value.author, Number(vote.value))
    latest.set(vote.link, perTarget)
  }
  for (const [target, perVoter] of latest) {
    const likers = new Set([...perVoter].filter(([, value]) => value > 0).map(([voter]) => voter))
    const got = await votesFor(f.store, target)
    assert.equal(got.count, likers.size, target)
    assert.deepEqual(new Set(got.voters), likers)
  }
})

test('fixture: profiles are the latest self-given fields plus names by others', async () => {
  const f = await fixture()
  for (const feed of f.authors) {
    const expected = { name: null as string | null, image: null as string | null, description: null as string | null }
    const byOthers = new Map<FeedId, string>()
    for (const m of f.pub) {
      const c = m.value.content
      if (c.type !== 'about' || c.about !== feed) continue
      if (m.value.author === feed) {
        if (typeof c.name === 'string') expected.name = c.name.trim()
        const image = typeof c.image === 'object' && c.image !== null ? (c.image as { link?: unknown }).link : c.image
        if (typeof image === 'string') expected.image = image
        if (typeof c.description === 'string') expected.description = c.description || null
      } else if (typeof c.name === 'string') {
        byOthers.set(m.value.author, c.name.trim())
      }
    }
    const got = await profile(f.store, feed)
    assert.deepEqual({ name: got.name, image: got.image, description: got.description }, expected, feed)
    assert.deepEqual(new Map(got.namesGivenByOthers.map((n) => [n.by, n.name])), byOthers)
  }
})

test('fixture: channel and #mention feeds', async () => {
  const f = await fixture()
  const tagged = new Map<string, FixtureMessage[]>()
  for (const m of f.pub) {
    const c = m.value.content
    const tags = new Set<string>()
    if (typeof c.channel === 'string') tags.add(c.channel.replace(/^#+/, '').trim().toLowerCase())
    for (const mention of Array.isArray(c.mentions) ? c.mentions : []) {
      const link = (mention as { link?: unknown }).link
      if (typeof link === 'string' && link.startsWith('#')) tags.add(link.slice(1).trim().toLowerCase())
    }
    for (const tag of tags) tagged.set(tag, [...(tagged.get(tag) ?? []), m])
  }
  assert.ok(tagged.size > 10)
  for (const [tag, messages] of tagged) {
    assert.deepEqual(keys(await allPages((o) => hashtagFeed(f.store, `#${tag.toUpperCase()}`, o))), newestFirst(f, messages), tag)
  }
})

test('fixture: backlinks of the most linked refs', async () => {
  const f = await fixture()
  const linking = new Map<string, FixtureMessage[]>()
  const collect = (value: unknown, into: Set<string>): void => {
    if (typeof value === 'string') {
      if (REF.test(value)) into.add(value)
    } else if (Array.isArray(value)) {
      for (const item of value) collect(item, into)
    } else if (typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) collect(item, into)
    }
  }
  for (const m of f.pub) {
    const refs = new Set<string>()
    collect(m.value.content, refs)
    for (const ref of refs) linking.set(ref, [...(linking.get(ref) ?? []), m])
  }
  const ranked = [...linking].sort((a, b) => b[1].length - a[1].length)
  const sample = [...ranked.slice(0, 40), ...ranked.filter((_, i) => i % 97 === 0)]
  assert.ok(sample.some(([ref]) => ref[0] === '@') && sample.some(([ref]) => ref[0] === '%') && sample.some(([ref]) => ref[0] === '&'))
  for (const [ref, messages] of sample) {
    assert.deepEqual(keys(await allPages((o) => backlinksOf(f.store, ref as MessageId, o), 200)), newestFirst(f, messages), ref)
  }
})

test('fixture: notifications of the main feed', async () => {
  const f = await fixture()
  const me = f.me.id
  const graph = edges(f)
  const myBlocks = edgeSet(graph, me, 'block')
  const mine = f.pub.filter((m) => m.value.author === me)
  const myMessages = new Set(mine.map((m) => m.key))
  const myThreads = new Set(mine.filter((m) => m.value.content.type === 'post').map((m) => (isMsgId(m.value.content.root) ? m.value.content.root : m.key)))
  const kinds = new Map<MessageId, string>()
  const likes = new Map<string, FixtureMessage>()
  for (const m of f.pub) {
    const c = m.value.content
    const mentions = (Array.isArray(c.mentions) ? c.mentions : []).map((x) => (typeof x === 'string' ? x : (x as { link?: unknown }).link))
    if (mentions.includes(me) || (typeof c.text === 'string' && c.text.includes(me))) kinds.set(m.key, 'mention')
    else if (c.type === 'post' && isMsgId(c.root) && myThreads.has(c.root)) kinds.set(m.key, 'reply')
    const vote = c.vote as { link?: MessageId; value?: number } | undefined
    if (c.type === 'vote' && vote?.link && myMessages.has(vote.link)) {
      if (Number(vote.value) > 0) likes.set(`${vote.link} ${m.value.author}`, m)
      else likes.delete(`${vote.link} ${m.value.author}`)
    }
  }
  for (const m of likes.values()) kinds.set(m.key, 'like')
  const followMessage = new Map<FeedId, FixtureMessage>()
  for (const m of f.pub) if (m.value.content.type === 'contact' && m.value.content.contact === me) followMessage.set(m.value.author, m)
  for (const [from, m] of followMessage) if (graph.get(from)?.get(me) === 'follow') kinds.set(m.key, 'follow')
  const byKey = new Map(f.pub.map((m) => [m.key, m]))
  const candidates = [...kinds.keys()].map((key) => byKey.get(key)!).filter((m) => m.value.author !== me && !myBlocks.has(m.value.author))
  const expected = newestFirst(f, candidates).map((key) => [kinds.get(key), key])

  const started = performance.now()
  const first = await notifications(f.store, me)
  console.log(`notifications first page: ${(performance.now() - started).toFixed(1)} ms (${expected.length} in all)`)
  assert.deepEqual(first.items.map((n) => [n.kind, n.message.key]), expected.slice(0, 50))
  const everything = await allPages((o) => notifications(f.store, me, o), 200)
  assert.deepEqual(everything.map((n) => [n.kind, n.message.key]), expected)
  assert.ok(new Set(expected.map(([kind]) => kind)).size === 4, 'every kind occurs')
})

test('fixture: private messages decrypted for main reach none of the social indexes', async () => {
  const f = await fixture()
  const privateOffsets = new Set<number>()
  for await (const m of f.store.readLog({ decrypt: true })) if (m.private) privateOffsets.add(m.offset)
  assert.ok(privateOffsets.size > 100, `${privateOffsets.size} private messages for main`)
  const pointedAt = new Set<number>()
  for (const name of ['posts', 'timeline', 'threads', 'backlinks', 'mentions', 'hashtags']) {
    for await (const key of f.store.indexReader(name).keys({})) pointedAt.add(key.readUIntBE(key.length - 6, 6))
  }
  for (const name of ['votes', 'contacts']) {
    for await (const [, value] of f.store.indexReader(name).entries({})) if (value.length >= 12) pointedAt.add(value.readUIntBE(value.length - 6, 6))
  }
  assert.ok(pointedAt.size > 5000)
  assert.deepEqual([...privateOffsets].filter((offset) => pointedAt.has(offset)), [])
})
