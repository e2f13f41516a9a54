import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Level } from 'level'
import { generateIdentity, readSecretFile, type MessageId } from '@hearsay/keys'
import { boxContent } from '@hearsay/box1'
import { createMessage, type Content, type FeedState } from '@hearsay/message'
import {
  openStore, search, tokenize, parseQuery, defaultIndexes,
  type IndexedMessage, type SearchOptions, type Store,
} from './index.ts'
import { tempDir } from './test-helpers.ts'
import { appendInRuns } from './testing/fixtures.ts'
import { loadFixtureMessages, mainSecretPath } from '@hearsay/test-fixtures'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))

async function searchAll(store: Store, query: string, options: SearchOptions = {}): Promise<IndexedMessage[]> {
  const out: IndexedMessage[] = []
  let cursor: string | undefined
  do {
    const page = await search(store, query, { ...options, ...(cursor ? { cursor } : {}) })
    out.push(...page.items)
    cursor = page.cursor
  } while (cursor)
  return out
}

function textOf(message: IndexedMessage): string {
  return (message.value.content as { text?: string }).text ?? ''
}

test('tokenize: case and accents fold, non-letters split, short and stop words drop, tokens are unique and capped', () => {
  assert.deepEqual(tokenize('Café CAFÉ cafe\u0301 — the Crème brûlée!'), ['cafe', 'creme', 'brulee'])
  assert.deepEqual(tokenize("#hashtag @bob don't x y2 ｆｕｌｌｗｉｄｔｈ ℌilbert İstanbul"), ['hashtag', 'bob', 'don', 'y2', 'fullwidth', 'hilbert', 'istanbul'])
  assert.deepEqual(tokenize('Ελληνικά και русский текст 123'), ['ελληνικα', 'και', 'русскии', 'текст', '123'])
  assert.deepEqual(tokenize('a'.repeat(40)), ['a'.repeat(32)], 'cut to 32 characters')
  assert.deepEqual(tokenize('𝒜𝒜 𝒜'), ['aa'], 'astral letters count as one character each')
  assert.equal(tokenize(Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ')).length, 256)
  assert.deepEqual(tokenize('the and of to in a'), [])
})

test('parseQuery: the last word is a prefix while being typed', () => {
  assert.deepEqual(parseQuery('hello wor'), { words: ['hello'], prefix: 'wor' })
  assert.deepEqual(parseQuery('hello wor '), { words: ['hello', 'wor'] })
  assert.deepEqual(parseQuery('hello wor', { prefix: false }), { words: ['hello', 'wor'] })
  assert.deepEqual(parseQuery('hello w'), { words: ['hello'] }, 'one letter is too short to search')
  assert.deepEqual(parseQuery('over the'), { words: ['over'] }, 'a whole stop word adds nothing')
  assert.deepEqual(parseQuery('café caf'), { words: ['cafe'] }, 'implied by a whole word')
  assert.deepEqual(parseQuery('Caf\u00e9'), { words: [], prefix: 'cafe' })
  assert.deepEqual(parseQuery(' #! '), { words: [] })
})

/** A store (with bob as its identity) holding `contents` as alice's feed, dated a day apart. */
async function storeOf(t: { after(fn: () => unknown): void }, contents: Content[]): Promise<Store> {
  const store = await openStore({ path: await tempDir(t), create: true, identity: bob })
  t.after(() => store.close())
  let previous: FeedState | null = null
  const values = contents.map((content, i) => {
    const message = createMessage({ identity: alice, previous, content, timestamp: 1_700_000_000_000 + i * 86_400_000 })
    previous = { id: message.key, sequence: message.value.sequence, timestamp: message.value.timestamp }
    return message.value
  })
  const result = await store.append(alice.id, values)
  assert.equal(result.rejected, undefined)
  return store
}

test('search: words, accents, prefixes, intersections, newest first, private posts only when asked', async (t) => {
  const store = await storeOf(t, [
    { type: 'post', text: 'Un café à Zürich' },
    { type: 'post', text: 'The cafe on the corner' },
    { type: 'post', text: 'CAFETERIA food, zurich style' },
    { type: 'vote', vote: { link: '%x', value: 1, expression: 'cafe' } },
    { type: 'about', about: alice.id, name: 'cafe owner' },
    boxContent({ type: 'post', text: 'secret cafe meeting', recps: [alice.id, bob.id] }, [alice.id, bob.id]),
    { type: 'post', text: 'café ' },
  ])
  const texts = async (query: string, options?: SearchOptions) => (await search(store, query, options)).items.map(textOf)

  assert.deepEqual(await texts('cafe '), ['café ', 'The cafe on the corner', 'Un café à Zürich'], 'whole word, newest first; only posts')
  assert.deepEqual(await texts('CAFÉ '), await texts('cafe '))
  assert.deepEqual(await texts('caf'), ['café ', 'CAFETERIA food, zurich style', 'The cafe on the corner', 'Un café à Zürich'], 'prefix while typing')
  assert.deepEqual(await texts('caf', { prefix: false }), [])
  assert.deepEqual(await texts('cafe zurich'), ['Un café à Zürich'], 'both words')
  assert.deepEqual(await texts('zurich cafe'), ['CAFETERIA food, zurich style', 'Un café à Zürich'], 'the last word is being typed')
  assert.deepEqual(await texts('zurich caf'), ['CAFETERIA food, zurich style', 'Un café à Zürich'])
  assert.deepEqual(await texts('the corner'), ['The cafe on the corner'], 'stop words are ignored')
  assert.deepEqual(await texts('the'), [], 'a query of stop words finds nothing')
  assert.deepEqual(await texts(''), [])
  assert.deepEqual(await texts('zurich nowhere'), [])

  assert.deepEqual(await texts('secret'), [], 'private posts are hidden by default')
  const withPrivate = (await search(store, 'cafe ', { includePrivate: true })).items
  assert.deepEqual(withPrivate.map(textOf), ['café ', 'secret cafe meeting', 'The cafe on the corner', 'Un café à Zürich'])
  assert.deepEqual(withPrivate.map((m) => m.private ?? false), [false, true, false, false])
  assert.deepEqual(await texts('meet', { includePrivate: true }), ['secret cafe meeting'])
  await assert.rejects(search(store, 'cafe', { cursor: 'AAAA' }), RangeError)
  await assert.rejects(search(store, 'cafe', { cursor: '!!' }), RangeError)
})

test('search pages by cursor, and intersects sparse words by skipping ahead', async (t) => {
  const contents: Content[] = Array.from({ length: 600 }, (_, i) => ({
    type: 'post',
    text: `common words here ${i % 50 === 7 ? 'rare' : 'plain'} number n${i}`,
  }))
  const store = await storeOf(t, contents)
  const rare = await searchAll(store, 'rare common', { limit: 5 })
  assert.deepEqual(rare.map((m) => m.value.sequence), Array.from({ length: 12 }, (_, i) => 600 - 42 - i * 50))
  const common = await searchAll(store, 'common words', { limit: 77 })
  assert.deepEqual(common.map((m) => m.value.sequence), Array.from({ length: 600 }, (_, i) => 600 - i))
  const page = await search(store, 'rare', { limit: 12 })
  assert.equal(page.items.length, 12)
  assert.equal(page.cursor, undefined, 'a full last page has no cursor')
  assert.deepEqual((await searchAll(store, 'n59 ')).map((m) => m.value.sequence), [60])
  assert.deepEqual((await searchAll(store, 'n59', { limit: 4 })).map((m) => m.value.sequence), [600, 599, 598, 597, 596, 595, 594, 593, 592, 591, 60])
})

test('a word being typed that starts very many words is checked against each result instead', async (t) => {
  // 80 distinct words starting with "zq": more than the query expands into index lookups.
  const contents: Content[] = Array.from({ length: 80 }, (_, i) => ({ type: 'post', text: `topic${i % 2} zq${String(i).padStart(2, '0')}x` }))
  const store = await storeOf(t, contents)
  const both = await searchAll(store, 'topic1 zq', { limit: 7 })
  assert.deepEqual(both.map((m) => m.value.sequence), Array.from({ length: 40 }, (_, i) => 80 - i * 2))
  const alone = await searchAll(store, 'zq', { limit: 30 })
  assert.equal(alone.length, 80, 'alone, every word it starts is walked')
  assert.deepEqual((await searchAll(store, 'topic0 zq7')).map((m) => m.value.sequence), [79, 77, 75, 73, 71])
})

// ---- The 10k fixture ----

const secretFile = mainSecretPath('10k')

interface CompactingLevel {
  open(): Promise<void>
  close(): Promise<void>
  compactRange(start: Buffer, end: Buffer): Promise<void>
  approximateSize(start: Buffer, end: Buffer): Promise<number>
}

/**
 * Bytes of a closed store's files once LevelDB has compacted everything (so that the write-ahead
 * log and the order of compactions do not blur the comparison), and those of one index's keys.
 */
async function storeBytes(dir: string, index: string): Promise<{ total: number; index: number }> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as CompactingLevel
  await db.open()
  await db.compactRange(Buffer.alloc(0), Buffer.alloc(8, 0xff))
  // abstract-level names a sublevel's keys `!name!…`.
  const indexBytes = await db.approximateSize(Buffer.from(`!i:${index}!`), Buffer.from(`!i:${index}"`))
  await db.close()
  let total = 0
  for (const file of await readdir(dir)) total += (await stat(path.join(dir, file))).size
  return { total, index: indexBytes }
}

test('10k fixture: search agrees with a brute-force scan, and what it costs', async (t) => {
  const messages = await loadFixtureMessages('10k')
  const identity = await readSecretFile(secretFile)
  const ssbKeys = createRequire(import.meta.url)('ssb-keys') as { unbox(boxed: string, keys: object): unknown }
  const secret = JSON.parse(readFileSync(secretFile, 'utf8').replace(/\s*#[^\n]*/g, '')) as object

  // The oracle: every post's words (lorem ipsum is plain ASCII), public or decrypted for us.
  interface Doc { key: MessageId; offset: number; day: number; words: Set<string>; private: boolean }
  const docs: Doc[] = []
  messages.forEach((message, i) => {
    let content: unknown = message.value.content
    const isPrivate = typeof content === 'string'
    if (isPrivate) content = ssbKeys.unbox(content as string, secret)
    const post = content as { type?: unknown; text?: unknown } | undefined
    if (post?.type !== 'post' || typeof post.text !== 'string') return
    const day = Math.floor(Math.min(message.value.timestamp, Date.now()) / 86_400_000)
    docs.push({ key: message.key, offset: i + 1, day, words: new Set(post.text.toLowerCase().match(/[a-z0-9]+/g)), private: isPrivate })
  })
  docs.sort((a, b) => b.day - a.day || b.offset - a.offset)
  const expect = (match: (words: Set<string>) => boolean, includePrivate = false) =>
    docs.filter((d) => (includePrivate || !d.private) && match(d.words)).map((d) => d.key)
  const has = (...words: string[]) => (set: Set<string>) => words.every((w) => set.has(w))
  const hasPrefix = (prefix: string) => (set: Set<string>) => [...set].some((w) => w.startsWith(prefix))

  const dir = await tempDir(t)
  const open = () => openStore({ path: dir, create: true, identity })
  let store = await open()
  await appendInRuns(store, messages)
  await store.close()
  store = await open()
  t.after(() => store.close())

  const keys = async (query: string, options: SearchOptions = {}) => (await searchAll(store, query, { limit: 200, ...options })).map((m) => m.key)
  const oldest = await search(store, 'OLDESTMSG')
  assert.deepEqual(oldest.items.map((m) => m.key), [messages[0]!.key])
  assert.deepEqual(await keys('cillum'), expect(has('cillum')), 'one word, every page, newest first')
  assert.ok(expect(has('cillum')).length > 1000)
  assert.deepEqual(await keys('cíllum'), await keys('cillum'), 'accent-insensitive')
  assert.deepEqual(await keys('cillum ea'), expect(has('cillum', 'ea')), 'two words')
  assert.deepEqual(await keys('nostrud ea cillum tempor'), expect(has('nostrud', 'ea', 'cillum', 'tempor')), 'four words')
  assert.deepEqual(await keys('cill'), expect(hasPrefix('cill')), 'a prefix')
  assert.deepEqual(await keys('con'), expect(hasPrefix('con')), 'a prefix of several words')
  assert.deepEqual(await keys('ea con'), expect((w) => w.has('ea') && hasPrefix('con')(w)), 'a word and a prefix')
  assert.deepEqual(await keys('oldestmsg latestmsg'), [])
  const privately = await searchAll(store, 'dolor ', { includePrivate: true, limit: 500 })
  assert.deepEqual(privately.map((m) => m.key), expect(has('dolor'), true))
  assert.deepEqual(await keys('dolor '), expect(has('dolor')), 'private posts only when asked')
  assert.ok(privately.some((m) => m.private) && expect(has('dolor')).length < privately.length)
  assert.deepEqual(await keys('dolo', { includePrivate: true }), expect(hasPrefix('dolo'), true))
  assert.ok(privately.every((m) => (m.private === true) === docs.find((d) => d.key === m.key)!.private))

  // Reporting, not asserting: latency of first pages, and the index's share of the disk.
  const latency: string[] = []
  for (const query of ['cillum', 'cillum ea', 'nostrud ea cillum tempor', 'con', 'ea con', 'oldestmsg']) {
    await search(store, query, { limit: 20 })
    const runs = 20
    const started = performance.now()
    for (let i = 0; i < runs; i++) await search(store, query, { limit: 20 })
    latency.push(`"${query}" ${((performance.now() - started) / runs).toFixed(2)} ms`)
  }
  console.log(`10k search, first page of 20: ${latency.join(', ')}`)

  const withoutDir = await tempDir(t)
  const without = await openStore({ path: withoutDir, create: true, identity, indexes: defaultIndexes().filter((index) => index.name !== 'search') })
  await appendInRuns(without, messages)
  await without.close()
  await store.close()
  const withSearch = await storeBytes(dir, 'search')
  const withoutSearch = await storeBytes(withoutDir, 'search')
  const perMessage = (bytes: number) => (bytes / messages.length).toFixed(1)
  console.log(
    `10k store on disk, compacted: ${perMessage(withSearch.total)} B/msg with all indexes, ${perMessage(withoutSearch.total)} without search: ` +
      `search adds ${perMessage(withSearch.total - withoutSearch.total)} B/msg (LevelDB's own estimate of its key range: ${perMessage(withSearch.index)}; ` +
      `${docs.length} posts)`,
  )
})
