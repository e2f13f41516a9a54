import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream, createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { createGunzip, gzipSync } from 'node:zlib'
import path from 'node:path'
import { generateIdentity, type FeedId, type MessageId } from '@hearsay/keys'
import { createValidationPool, type ValidMessage } from '@hearsay/message'
import { importMessages, openStore, type BatchVerifier, type ImportOptions, type ImportProgress, type ImportRejection, type Store } from './index.ts'
import { collect, posts, signChain, tempDir } from './test-helpers.ts'
import { FLUME_10K, NDJSON_10K, assertConsistent, fixtureFeeds } from './testing/fixtures.ts'

const alice = generateIdentity(Buffer.alloc(32, 11))
const bob = generateIdentity(Buffer.alloc(32, 12))
const carol = generateIdentity(Buffer.alloc(32, 13))
const dave = generateIdentity(Buffer.alloc(32, 14))
const eve = generateIdentity(Buffer.alloc(32, 15))

async function feedKeys(store: Store, feed: FeedId): Promise<MessageId[]> {
  return (await collect(store.readFeed(feed))).map((m) => m.key)
}

const kvt = (m: ValidMessage) => JSON.stringify({ key: m.key, value: m.value, timestamp: 1_700_000_100_000 })

/** The parts of a rejection a test pins down. */
const brief = (r: ImportRejection) => ({ code: r.code, line: r.line, author: r.author, sequence: r.sequence })

test('the 10k NDJSON fixture imports whole, each feed a gap-free chain; importing it again stores nothing twice', async (t) => {
  const expected = await fixtureFeeds()
  const dir = await tempDir(t)
  const store = await openStore({ path: dir, create: true })
  t.after(() => store.close())
  const reports: ImportProgress[] = []
  const result = await importMessages(store, NDJSON_10K, { onProgress: (p) => reports.push(p), progressIntervalMs: 0 })
  assert.deepEqual(result, { format: 'ndjson', read: 10_000, accepted: 10_000, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
  assert.equal(expected.size, 100)
  assert.equal(await assertConsistent(store, expected), 10_000)
  for (const [feed, ids] of expected) assert.equal((await store.feedStatus(feed))?.id, ids.at(-1), `${feed} is complete`)

  assert.ok(reports.length >= 5, `progress is reported while importing (${reports.length} reports)`)
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.read >= reports[i - 1]!.read && reports[i]!.accepted >= reports[i - 1]!.accepted, 'progress only grows')
  const last = reports.at(-1)!
  assert.deepEqual({ ...last }, { read: 10_000, accepted: 10_000, duplicates: 0, rejected: 0, forked: 0, bytesRead: last.totalBytes, totalBytes: last.totalBytes })
  assert.ok(last.totalBytes > 3_000_000, 'bytes are counted in the file as it is, compressed')

  const again = await importMessages(store, NDJSON_10K)
  assert.deepEqual({ ...again }, { format: 'ndjson', read: 10_000, accepted: 0, duplicates: 10_000, rejected: [], rejectedCount: 0, forked: [] })
  assert.equal(store.lastOffset, 10_000, 'nothing was stored twice')
})

test('the flume log.offset of the same 10k messages, gzipped or not, gives the same feeds', async (t) => {
  const expected = await fixtureFeeds()
  const dir = await tempDir(t)
  const plain = path.join(dir, 'log.offset')
  await pipeline(createReadStream(FLUME_10K), createGunzip(), createWriteStream(plain))

  const fromGzip = await openStore({ path: path.join(dir, 'a'), create: true })
  t.after(() => fromGzip.close())
  // Signatures checked on this thread here; the plain file below and the NDJSON test use the
  // worker pool import starts by default for files over 1 MiB.
  const result = await importMessages(fromGzip, FLUME_10K, { chunkSize: 700, threads: 0 })
  assert.deepEqual(result, { format: 'flume', read: 10_000, accepted: 10_000, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
  assert.equal(await assertConsistent(fromGzip, expected), 10_000)
  for (const [feed, ids] of expected) assert.deepEqual(await feedKeys(fromGzip, feed), ids)

  // The uncompressed file, with the zero padding flume may leave at its end.
  await writeFile(plain, Buffer.alloc(4096), { flag: 'a' })
  const fromPlain = await openStore({ path: path.join(dir, 'b'), create: true })
  t.after(() => fromPlain.close())
  const plainResult = await importMessages(fromPlain, plain)
  assert.deepEqual({ ...plainResult, rejected: plainResult.rejected.map(brief) }, { format: 'flume', read: 10_000, accepted: 10_000, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
  assert.equal(await assertConsistent(fromPlain, expected), 10_000)
})

/**
 * One file with a bit of everything that can go wrong, interleaved with good messages of other
 * feeds. Each entry is a line; `null` marks a blank one.
 */
function troubledLines() {
  const a = signChain(alice, posts(5, 'alice'))
  const b = signChain(bob, posts(3, 'bob'))
  const c = signChain(carol, posts(4, 'carol'))
  const d = signChain(dave, posts(3, 'dave'))
  const e = signChain(eve, posts(2, 'eve'))
  const state2 = { id: c[1]!.key, sequence: 2, timestamp: c[1]!.value.timestamp }
  const [carolFork] = signChain(carol, [{ type: 'post', text: 'the other carol 3' }], state2, 1_700_000_500_000)
  const tampered = { ...a[2]!, value: { ...a[2]!.value, signature: a[1]!.value.signature } }
  const eve2 = kvt(e[1]!)
  const lines: Array<string | null> = [
    kvt(a[0]!), //                                              1
    kvt(b[0]!), //                                              2
    null, //                                                    3 blank: skipped, not counted
    kvt(c[0]!), //                                              4
    kvt(a[1]!), //                                              5
    'this is not json', //                                      6 EIMPORT_JSON
    JSON.stringify({ key: a[0]!.key, value: b[1]!.value, timestamp: 0 }), // 7 EIMPORT_KEY_MISMATCH
    kvt(c[1]!), //                                              8
    kvt(tampered), //                                           9 EMSG_SIGNATURE
    JSON.stringify(d[0]!.value), //                             10 a bare value
    kvt(b[2]!), //                                              11 EMSG_SEQUENCE: bob 2 is missing
    kvt(c[2]!), //                                              12
    kvt(a[3]!), //                                              13 EMSG_SEQUENCE: alice 3 is missing
    '{"hello":"world"}', //                                     14 EIMPORT_NOT_MESSAGE
    kvt(carolFork!), //                                         15 EIMPORT_FORKED
    JSON.stringify(d[1]!.value), //                             16
    kvt(c[3]!), //                                              17 ESTORE_FORKED
    kvt(a[4]!), //                                              18 EMSG_SEQUENCE
    '  ' + JSON.stringify(d[2]!.value) + '\r', //               19 whitespace around is fine
    '[1, 2]', //                                                20 EIMPORT_NOT_MESSAGE
    kvt(e[0]!), //                                              21
    eve2.slice(0, eve2.length - 40), //                         22 cut short, no newline: EIMPORT_JSON
  ]
  const text = lines.map((l) => l ?? '').join('\n')
  return { text, a, b, c, d, e, carolFork: carolFork!, tampered }
}

const troubledOutcome = {
  read: 21,
  accepted: 10,
  duplicates: 0,
  rejectedCount: 11,
  rejected: [
    { code: 'EIMPORT_JSON', line: 6, author: undefined, sequence: undefined },
    { code: 'EIMPORT_KEY_MISMATCH', line: 7, author: bob.id, sequence: 2 },
    { code: 'EMSG_SIGNATURE', line: 9, author: alice.id, sequence: 3 },
    { code: 'EMSG_SEQUENCE', line: 11, author: bob.id, sequence: 3 },
    { code: 'EMSG_SEQUENCE', line: 13, author: alice.id, sequence: 4 },
    { code: 'EIMPORT_NOT_MESSAGE', line: 14, author: undefined, sequence: undefined },
    { code: 'EIMPORT_FORKED', line: 15, author: carol.id, sequence: 3 },
    { code: 'ESTORE_FORKED', line: 17, author: carol.id, sequence: 4 },
    { code: 'EMSG_SEQUENCE', line: 18, author: alice.id, sequence: 5 },
    { code: 'EIMPORT_NOT_MESSAGE', line: 20, author: undefined, sequence: undefined },
    { code: 'EIMPORT_JSON', line: 22, author: undefined, sequence: undefined },
  ],
  forked: [carol.id],
}

async function assertTroubledStore(store: Store, f: ReturnType<typeof troubledLines>): Promise<void> {
  assert.deepEqual(await feedKeys(store, alice.id), f.a.slice(0, 2).map((m) => m.key), 'alice keeps what came before the forged message')
  assert.deepEqual(await feedKeys(store, bob.id), [f.b[0]!.key], 'bob keeps what came before the misnamed message')
  assert.deepEqual(await feedKeys(store, carol.id), f.c.slice(0, 3).map((m) => m.key))
  assert.deepEqual(await feedKeys(store, dave.id), f.d.map((m) => m.key), 'bare values are imported')
  assert.deepEqual(await feedKeys(store, eve.id), [f.e[0]!.key])
  const fork = (await store.feedStatus(carol.id))?.forked
  assert.deepEqual({ sequence: fork?.sequence, kept: fork?.kept, conflicting: fork?.conflicting }, { sequence: 3, kept: f.c[2]!.key, conflicting: f.carolFork.key })
  assert.equal(store.lastOffset, 10)
  assert.equal(await store.get(f.tampered.key), null)
  const expected = new Map<FeedId, MessageId[]>([alice, bob, carol, dave, eve].map((who, i) => [who.id, [f.a, f.b, f.c, f.d, f.e][i]!.map((m) => m.key)]))
  assert.equal(await assertConsistent(store, expected), 10)
}

/** The troubled lines written to a file and imported into a new store. */
async function importTroubled(t: TestContext, options: ImportOptions = {}) {
  const dir = await tempDir(t)
  const f = troubledLines()
  const file = path.join(dir, 'troubled.jsonl')
  await writeFile(file, f.text)
  const store = await openStore({ path: path.join(dir, 'store'), create: true })
  t.after(() => store.close())
  return { dir, f, store, result: await importMessages(store, file, options) }
}

test('garbage, a cut-short line, a forged signature, a wrong key and a fork are each reported, and every valid message is kept', async (t) => {
  const { dir, f, store, result } = await importTroubled(t)
  assert.deepEqual({ ...result, rejected: result.rejected.map(brief) }, { format: 'ndjson', ...troubledOutcome })
  const byLine = new Map(result.rejected.map((r) => [r.line, r]))
  assert.equal(byLine.get(7)!.key, f.b[1]!.key, 'a misnamed message is reported under the id it really has')
  assert.match(byLine.get(7)!.message, /names it/)
  assert.equal(byLine.get(15)!.key, f.carolFork.key)
  assert.equal(byLine.get(9)!.offset, f.text.split('\n').slice(0, 8).join('\n').length + 1, 'offsets count bytes from the start of the file')
  await assertTroubledStore(store, f)

  // The same file gzipped and read in chunks of 3 (so feeds straddle chunks) gives the same, and
  // a second pass finds the stored messages as duplicates and the rest as before.
  const gz = path.join(dir, 'troubled.jsonl.gz')
  await writeFile(gz, gzipSync(f.text))
  const other = await openStore({ path: path.join(dir, 'store2'), create: true })
  t.after(() => other.close())
  const chunked = await importMessages(other, gz, { chunkSize: 3, batchSize: 2 })
  assert.deepEqual({ ...chunked, rejected: chunked.rejected.map(brief) }, { format: 'ndjson', ...troubledOutcome })
  await assertTroubledStore(other, f)
  const again = await importMessages(other, gz)
  // carol's feed is forked, so all of it is refused now, the messages we hold included.
  assert.equal(again.accepted, 0)
  assert.equal(again.duplicates, 7)
  assert.equal(again.read, 21)
  assert.deepEqual(again.forked, [carol.id])
  assert.equal(again.rejected.filter((r) => r.code === 'ESTORE_FORKED').length, 5)
  await assertTroubledStore(other, f)
})

test('a cut-short gzip file imports what it holds and reports the rest', async (t) => {
  const dir = await tempDir(t)
  const f = troubledLines()
  const gz = gzipSync(f.text + '\n' + f.text)
  const file = path.join(dir, 'cut.jsonl.gz')
  await writeFile(file, gz.subarray(0, gz.length - 12))
  const store = await openStore({ path: path.join(dir, 'store'), create: true })
  t.after(() => store.close())
  const result = await importMessages(store, file)
  assert.equal(result.rejected.at(-1)?.code, 'EIMPORT_GZIP')
  assert.equal(result.read, result.accepted + result.duplicates + result.rejectedCount)
  await assertTroubledStore(store, f)
})

interface Frame {
  /** What to put in the frame: a record, or raw bytes. */
  body: object | Buffer
}

/** A flume log.offset: `length ‖ JSON ‖ length ‖ offset after the frame` for each record. */
function flumeLog(frames: Frame[], start = 0): { bytes: Buffer; offsets: number[] } {
  const parts: Buffer[] = []
  const offsets: number[] = []
  let at = start
  for (const { body } of frames) {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
    const frame = Buffer.alloc(data.length + 12)
    frame.writeUInt32BE(data.length, 0)
    data.copy(frame, 4)
    frame.writeUInt32BE(data.length, 4 + data.length)
    frame.writeUInt32BE(at + frame.length, 8 + data.length)
    offsets.push(at)
    parts.push(frame)
    at += frame.length
  }
  return { bytes: Buffer.concat(parts), offsets }
}

test('a garbled or cut-short flume log is reported frame by frame, never thrown', async (t) => {
  const dir = await tempDir(t)
  const a = signChain(alice, posts(4, 'alice'))
  const b = signChain(bob, posts(4, 'bob'))
  const record = (m: ValidMessage) => ({ body: { key: m.key, value: m.value, timestamp: 1 } })
  const { bytes, offsets } = flumeLog([
    record(a[0]!), record(b[0]!), record(a[1]!),
    { body: Buffer.from('{"key": broken json}') }, // 3: a sound frame holding bad JSON
    record(b[1]!),
    record(a[2]!), //                                 5: its length gets garbled below
    record(b[2]!), record(a[3]!),
    record(b[3]!), //                                 8: cut short below
  ])
  const garbled = Buffer.from(bytes)
  garbled.writeUInt32BE(0x00ffffff, offsets[5]!)
  const file = path.join(dir, 'log.offset')
  await writeFile(file, garbled.subarray(0, offsets[8]! + 30))

  const store = await openStore({ path: path.join(dir, 'store'), create: true })
  t.after(() => store.close())
  const result = await importMessages(store, file)
  assert.deepEqual({ ...result, rejected: result.rejected.map((r) => ({ code: r.code, offset: r.offset, sequence: r.sequence })) }, {
    format: 'flume',
    read: 9,
    accepted: 5,
    duplicates: 0,
    rejectedCount: 4,
    rejected: [
      { code: 'EIMPORT_JSON', offset: offsets[3], sequence: undefined },
      { code: 'EIMPORT_FRAME', offset: offsets[5], sequence: undefined },
      { code: 'EMSG_SEQUENCE', offset: offsets[7], sequence: 4 },
      { code: 'EIMPORT_TRUNCATED', offset: offsets[8], sequence: undefined },
    ],
    forked: [],
  })
  assert.deepEqual(await feedKeys(store, alice.id), [a[0]!.key, a[1]!.key])
  assert.deepEqual(await feedKeys(store, bob.id), [b[0]!.key, b[1]!.key, b[2]!.key])

  // Garbage from the first byte, a frame, then a stray byte; and a file of nothing but zeros.
  const junk = path.join(dir, 'junk.offset')
  const after = flumeLog([record(a[0]!)], 7).bytes
  await writeFile(junk, Buffer.concat([Buffer.from([0, 0, 0, 9, 1, 2, 3]), after, Buffer.from([0, 7])]))
  const junkResult = await importMessages(store, junk, { format: 'flume' })
  assert.deepEqual(junkResult.rejected.map((r) => [r.code, r.offset]), [['EIMPORT_FRAME', 0], ['EIMPORT_TRUNCATED', 7 + after.length]])
  assert.deepEqual([junkResult.read, junkResult.duplicates], [3, 1], 'a damaged stretch counts once however long it is')
  const zeros = path.join(dir, 'zeros.offset')
  await writeFile(zeros, Buffer.alloc(100_000))
  assert.deepEqual(await importMessages(store, zeros), { format: 'flume', read: 0, accepted: 0, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
})

test('an empty file imports nothing, and a missing one is an error', async (t) => {
  const dir = await tempDir(t)
  const store = await openStore({ path: path.join(dir, 'store'), create: true })
  t.after(() => store.close())
  const empty = path.join(dir, 'empty.jsonl')
  await writeFile(empty, '')
  assert.deepEqual(await importMessages(store, empty), { format: 'ndjson', read: 0, accepted: 0, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
  await assert.rejects(importMessages(store, path.join(dir, 'absent.jsonl')), { code: 'ENOENT' })
})

test('the rejection list is capped but every rejection is counted, and an abort stops between chunks', async (t) => {
  const dir = await tempDir(t)
  const store = await openStore({ path: path.join(dir, 'store'), create: true })
  t.after(() => store.close())
  const file = path.join(dir, 'junk.jsonl')
  await writeFile(file, Array.from({ length: 50 }, (_, i) => `junk ${i}`).join('\n'))
  const result = await importMessages(store, file, { maxRejections: 5 })
  assert.equal(result.rejectedCount, 50)
  assert.deepEqual(result.rejected.map((r) => r.line), [1, 2, 3, 4, 5])

  const controller = new AbortController()
  const aborted = importMessages(store, NDJSON_10K, {
    chunkSize: 200,
    progressIntervalMs: 0,
    signal: controller.signal,
    onProgress: (p) => { if (p.accepted >= 400) controller.abort() },
  })
  await assert.rejects(aborted, { name: 'AbortError' })
  const held = store.lastOffset
  assert.ok(held >= 400 && held < 10_000, `stopped part way (${held} stored)`)
  assert.equal(await assertConsistent(store, await fixtureFeeds()), held)
})

test('with a validation pool of the caller\'s verifying on worker threads, the results are the same', async (t) => {
  const pool = createValidationPool({ threads: 2 })
  t.after(() => pool.close())
  const { dir, f, store, result } = await importTroubled(t, { verifier: pool, chunkSize: 4 })
  assert.deepEqual({ ...result, rejected: result.rejected.map(brief) }, { format: 'ndjson', ...troubledOutcome })
  await assertTroubledStore(store, f)

  const fixture = await openStore({ path: path.join(dir, 'fixture'), create: true })
  t.after(() => fixture.close())
  const verifier: BatchVerifier = pool
  const all = await importMessages(fixture, FLUME_10K, { verifier })
  assert.deepEqual(all, { format: 'flume', read: 10_000, accepted: 10_000, duplicates: 0, rejected: [], rejectedCount: 0, forked: [] })
  assert.equal(await assertConsistent(fixture, await fixtureFeeds()), 10_000)
})
