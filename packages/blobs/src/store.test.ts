import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { InvalidRefError, blobHash, type BlobId } from '@hearsay/keys'
import { BlobError, EMPTY_BLOB_ID, openBlobStore } from './index.ts'
import { bytes, chunked, filesUnder, idOf, readAll, tempDir, tempStore } from './test-helpers.ts'

function hasCode(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof BlobError, `expected a BlobError, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  }
}

test('add and get round trip binary data: every byte value, empty, and several MB in odd chunks', async (t) => {
  const store = await tempStore(t)
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const big = bytes(6 * 1024 * 1024 + 13, 7)
  const cases: Array<[string, Buffer, Parameters<typeof store.add>[0]]> = [
    ['all byte values', allBytes, allBytes],
    ['empty', Buffer.alloc(0), Buffer.alloc(0)],
    ['empty stream', Buffer.alloc(0), Readable.from([])],
    ['multi-MB readable', big, Readable.from(chunked(big, 65_537))],
    ['chunk array', allBytes, [...chunked(allBytes, 3)]],
  ]
  for (const [name, expected, input] of cases) {
    const id = await store.add(input)
    assert.equal(id, idOf(expected), name)
    assert.deepEqual(await readAll(await store.get(id)), expected, name)
    assert.equal(await store.size(id), expected.length, name)
    assert.equal(await store.has(id), true, name)
    assert.deepEqual(await readFile(store.path(id)), expected, `${name}: the file holds exactly the bytes`)
  }
  // An expected id that matches is accepted.
  assert.equal(await store.add(allBytes, idOf(allBytes)), idOf(allBytes))
  // Strings in a stream are utf8, as multiblob takes them.
  assert.equal(await store.add(Readable.from(['hé', 'llo'], { objectMode: true })), idOf(Buffer.from('héllo')))
  assert.deepEqual(await filesUnder(path.join(store.dir, 'tmp')), [], 'no temporary files are left')
})

test('the empty blob is always there, stored or not', async (t) => {
  const store = await tempStore(t)
  assert.equal(await store.has(EMPTY_BLOB_ID), true)
  assert.equal(await store.size(EMPTY_BLOB_ID), 0)
  assert.deepEqual(await readAll(await store.get(EMPTY_BLOB_ID)), Buffer.alloc(0))
  await store.want(EMPTY_BLOB_ID) // resolves at once
  assert.deepEqual(await store.wants(), {})
})

test('missing blobs and bad ids fail with stable errors before any data', async (t) => {
  const store = await tempStore(t)
  const missing = idOf(Buffer.from('not here'))
  await assert.rejects(store.get(missing), hasCode('EBLOB_MISSING'))
  await assert.rejects(store.getSlice(missing, 0, 1), hasCode('EBLOB_MISSING'))
  assert.equal(await store.has(missing), false)
  assert.equal(await store.size(missing), null)
  assert.equal(await store.meta(missing), null)
  for (const bad of ['nope', `%${missing.slice(1)}`, missing.replace('=.sha256', '.sha256'), missing.toUpperCase()]) {
    await assert.rejects(store.get(bad as BlobId), InvalidRefError, bad)
    await assert.rejects(store.has(bad as BlobId), InvalidRefError, bad)
    await assert.rejects(store.add(Buffer.from('x'), bad as BlobId), InvalidRefError, bad)
  }
})

test('a hash mismatch is rejected and leaves nothing behind', async (t) => {
  const store = await tempStore(t)
  const data = bytes(200_000, 3)
  const claimed = idOf(Buffer.from('something else'))
  await assert.rejects(store.add(Readable.from(chunked(data, 4096)), claimed), hasCode('EBLOB_HASH'))
  assert.deepEqual(await filesUnder(store.dir), [], 'no blob file and no temporary file')
  assert.equal(await store.has(claimed), false)
  assert.equal(await store.has(idOf(data)), false, 'nor is it kept under its real id')
})

test('truncated input: a failing stream rejects with its error, a short one fails the hash; nothing is kept', async (t) => {
  const store = await tempStore(t)
  const data = bytes(300_000, 5)
  const boom = new Error('connection lost')
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield data.subarray(0, 100_000)
    throw boom
  }
  await assert.rejects(store.add(failing(), idOf(data)), (err) => err === boom)
  await assert.rejects(store.add(failing()), (err) => err === boom)
  await assert.rejects(store.add(Readable.from([data.subarray(0, 299_999)]), idOf(data)), hasCode('EBLOB_HASH'))
  assert.deepEqual(await filesUnder(store.dir), [])
})

test('add with max gives up once the input runs over, and removes its temporary file', async (t) => {
  const store = await tempStore(t)
  let pulled = 0
  async function* endless(): AsyncGenerator<Uint8Array> {
    for (;;) {
      pulled++
      yield Buffer.alloc(1000, 1)
    }
  }
  await assert.rejects(store.add(endless(), undefined, { max: 10_000 }), hasCode('EBLOB_TOO_BIG'))
  assert.equal(pulled, 11, 'stopped reading as soon as the limit was passed')
  assert.deepEqual(await filesUnder(store.dir), [])
  // Exactly max bytes is fine.
  const id = await store.add(Buffer.alloc(10_000, 1), undefined, { max: 10_000 })
  assert.equal(await store.size(id), 10_000)
})

test('concurrent adds of the same blob all succeed and leave one file', async (t) => {
  const store = await tempStore(t)
  const data = bytes(1024 * 1024, 11)
  const id = idOf(data)
  const added: BlobId[] = []
  store.onAdd((meta) => added.push(meta.id))
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => store.add(Readable.from(chunked(data, 1000 + i * 977)), i % 2 ? id : undefined)),
  )
  assert.deepEqual(new Set(results), new Set([id]))
  assert.equal(added.length, 12)
  const hex = blobHash(id).toString('hex')
  assert.deepEqual(await filesUnder(store.dir), [`sha256/${hex.slice(0, 2)}/${hex.slice(2)}`])
  assert.deepEqual(await readFile(store.path(id)), data)
})

test('getSlice reads [start, end) with end clamped to the blob, and refuses bad ranges', async (t) => {
  const store = await tempStore(t)
  const data = bytes(100_000, 13)
  const id = await store.add(data)
  const slice = async (start: number, end: number) => readAll(await store.getSlice(id, start, end))
  assert.deepEqual(await slice(0, 0), Buffer.alloc(0))
  assert.deepEqual(await slice(0, 1), data.subarray(0, 1))
  assert.deepEqual(await slice(10, 20), data.subarray(10, 20))
  assert.deepEqual(await slice(0, data.length), data)
  assert.deepEqual(await slice(99_990, 200_000), data.subarray(99_990), 'end past the blob is clamped')
  assert.deepEqual(await slice(data.length, data.length + 5), Buffer.alloc(0))
  assert.deepEqual(await slice(200_000, 300_000), Buffer.alloc(0), 'start past the blob gives nothing')
  for (const [start, end] of [
    [5, 4],
    [-1, 4],
    [0, -1],
    [0.5, 4],
    [0, Number.NaN],
    [0, Infinity],
  ] as const) {
    await assert.rejects(store.getSlice(id, start, end), hasCode('EBLOB_RANGE'), `[${start}, ${end})`)
  }
  assert.deepEqual(await readAll(await store.getSlice(EMPTY_BLOB_ID, 0, 10)), Buffer.alloc(0))
})

test('get and getSlice honour size and max, as ssb-blobs get({size, max}) does', async (t) => {
  const store = await tempStore(t)
  const data = bytes(5000, 17)
  const id = await store.add(data)
  assert.deepEqual(await readAll(await store.get(id, { size: 5000 })), data)
  assert.deepEqual(await readAll(await store.get(id, { max: 5000 })), data, 'max is inclusive')
  await assert.rejects(store.get(id, { size: 4999 }), hasCode('EBLOB_SIZE'))
  await assert.rejects(store.get(id, { max: 4999 }), hasCode('EBLOB_TOO_BIG'))
  await assert.rejects(store.getSlice(id, 0, 10, { max: 4999 }), hasCode('EBLOB_TOO_BIG'))
})

test('rm deletes a blob; a read already open still finishes', async (t) => {
  const store = await tempStore(t)
  const data = bytes(300_000, 19)
  const id = await store.add(data)
  const reading = await store.get(id)
  assert.equal(await store.rm(id), true)
  assert.equal(await store.has(id), false)
  await assert.rejects(store.get(id), hasCode('EBLOB_MISSING'))
  assert.equal(await store.rm(id), false, 'removing again is not an error')
  if (process.platform !== 'win32') assert.deepEqual(await readAll(reading), data)
  else reading.destroy()
})

test('ls lists stored blobs (ids or metas) and skips temporaries and stray files', async (t) => {
  const store = await tempStore(t)
  const blobs = [bytes(10, 1), bytes(20, 2), bytes(30, 3), Buffer.alloc(0)]
  const ids = await Promise.all(blobs.map((b) => store.add(b)))
  await writeFile(path.join(store.dir, 'tmp', 'half-written'), 'xx')
  await writeFile(path.join(path.dirname(store.path(ids[0]!)), '.DS_Store'), 'junk')
  await mkdir(path.join(store.dir, 'sha256', 'zz'), { recursive: true })
  await writeFile(path.join(store.dir, 'sha256', 'zz', 'a'.repeat(62)), 'not hex')
  const listed: BlobId[] = []
  for await (const id of store.ls()) listed.push(id)
  assert.deepEqual(listed.sort(), [...ids].sort())
  const metas = []
  for await (const meta of store.ls({ meta: true })) metas.push(meta)
  assert.deepEqual(
    metas.map((m) => [m.id, m.size]).sort(),
    ids.map((id, i) => [id, blobs[i]!.length]).sort(),
  )
  assert.ok(metas.every((m) => m.ts > 0))
})

test('ls on a fresh store is empty', async (t) => {
  const store = await tempStore(t)
  for await (const id of store.ls()) assert.fail(`unexpected ${id}`)
})

test('opening removes stale temporaries from a crash but leaves fresh ones alone', async (t) => {
  const dir = path.join(await tempDir(t), 'blobs')
  const first = await openBlobStore({ dir })
  first.close()
  const stale = path.join(dir, 'tmp', 'crashed')
  const fresh = path.join(dir, 'tmp', 'in-progress')
  await writeFile(stale, 'x')
  await writeFile(fresh, 'y')
  const old = new Date(Date.now() - 2 * 60 * 60 * 1000)
  await utimes(stale, old, old)
  const store = await openBlobStore({ dir })
  t.after(() => store.close())
  await assert.rejects(stat(stale), { code: 'ENOENT' })
  assert.ok((await stat(fresh)).isFile())
})

test('add recreates tmp/ if it vanished (ssb-blobs clears it whenever it opens the folder)', async (t) => {
  const store = await tempStore(t)
  await rm(path.join(store.dir, 'tmp'), { recursive: true })
  const data = bytes(100, 37)
  assert.equal(await store.add(data), idOf(data))
})

test('want resolves when the blob is added, and the change stream says so', async (t) => {
  const store = await tempStore(t)
  const data = bytes(1000, 23)
  const id = idOf(data)
  const changes: unknown[] = []
  store.onWantsChange((change) => changes.push(change))
  const wanted = store.want(id)
  const again = store.want(id)
  // The want is announced once the store has looked and found nothing.
  await new Promise<void>((resolve) => {
    const stop = store.onWantsChange(() => {
      stop()
      resolve()
    })
  })
  assert.deepEqual(store.wants(), { [id]: -1 })
  await store.add(data)
  await wanted
  await again
  assert.deepEqual(store.wants(), {})
  assert.deepEqual(changes, [{ [id]: -1 }, { [id]: 1000 }])
  await store.want(id) // already here: resolves at once
})

test('want can be abandoned with a signal, and close rejects the rest', async (t) => {
  const store = await tempStore(t)
  const a = idOf(Buffer.from('a'))
  const b = idOf(Buffer.from('b'))
  const controller = new AbortController()
  const first = store.want(a, { signal: controller.signal })
  controller.abort(new Error('gave up'))
  await assert.rejects(first, /gave up/)
  assert.ok(a in store.wants(), 'the want itself stays')
  const second = store.want(b)
  store.close()
  await assert.rejects(second, hasCode('EBLOB_CLOSED'))
  await assert.rejects(store.add(Buffer.from('b')), hasCode('EBLOB_CLOSED'))
})
