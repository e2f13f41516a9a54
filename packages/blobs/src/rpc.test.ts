import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidRefError } from '@hearsay/keys'
import { BlobError, createBlobsRpc, type BlobMeta, fromPullSource, toPullSource, type PullEnd, type PullSource } from './index.ts'
import { bytes, idOf, tempStore } from './test-helpers.ts'

function collect<T>(source: PullSource<T>): Promise<T[]> {
  return (async () => {
    const items: T[] = []
    for await (const item of fromPullSource(source)) items.push(item)
    return items
  })()
}

async function readBytes(source: PullSource<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await collect(source))
}

/** A pull source of `items` that records how it was ended. */
function recordingSource<T>(items: T[]): PullSource<T> & { aborted: PullEnd[] } {
  let i = 0
  const aborted: PullEnd[] = []
  const source = (abort: PullEnd, cb: (end: PullEnd, data?: T) => void) => {
    if (abort) {
      aborted.push(abort)
      cb(abort)
    } else if (i < items.length) cb(null, items[i++])
    else cb(true)
  }
  return Object.assign(source, { aborted })
}

function coded(code: string) {
  return (err: unknown) => err instanceof BlobError && err.code === code
}

test('get and getSlice take the argument shapes ssb-blobs does', async (t) => {
  const store = await tempStore(t)
  const rpc = createBlobsRpc(store)
  const data = bytes(100_000, 1)
  const id = await store.add(data)
  assert.deepEqual(await readBytes(rpc.get(id)), data)
  assert.deepEqual(await readBytes(rpc.get({ key: id })), data)
  assert.deepEqual(await readBytes(rpc.get({ id, size: 100_000, max: 100_000 })), data)
  assert.deepEqual(await readBytes(rpc.get({ hash: id })), data)
  await assert.rejects(readBytes(rpc.get({ key: id, max: 99_999 })), coded('EBLOB_TOO_BIG'))
  await assert.rejects(readBytes(rpc.get({ key: id, size: 5 })), coded('EBLOB_SIZE'))
  await assert.rejects(readBytes(rpc.get(idOf(Buffer.from('missing')))), coded('EBLOB_MISSING'))
  await assert.rejects(readBytes(rpc.get({})), InvalidRefError)
  await assert.rejects(readBytes(rpc.get('junk')), InvalidRefError)
  assert.deepEqual(await readBytes(rpc.getSlice({ id, start: 10, end: 20 })), data.subarray(10, 20))
  assert.deepEqual(await readBytes(rpc.getSlice({ key: id, start: 99_000, end: 200_000 })), data.subarray(99_000))
  await assert.rejects(readBytes(rpc.getSlice({ id, start: 10 })), coded('EBLOB_RANGE'))
  await assert.rejects(readBytes(rpc.getSlice({ id, start: 0, end: 10, max: 10 })), coded('EBLOB_TOO_BIG'))
})

test('aborting a get before reading it releases the file', async (t) => {
  const store = await tempStore(t)
  const rpc = createBlobsRpc(store)
  const id = await store.add(bytes(10, 2))
  const source = rpc.get(id)
  await new Promise<void>((resolve) => source(true, () => resolve()))
  // Aborted means ended: further reads answer with the end.
  const end = await new Promise<PullEnd>((resolve) => source(null, (e) => resolve(e)))
  assert.equal(end, true)
})

test('add is a sink that verifies an expected id, and aborts the writer when it will not store', async (t) => {
  const store = await tempStore(t)
  const rpc = createBlobsRpc(store)
  const data = bytes(3000, 3)
  const result = (expected?: unknown, source = recordingSource([data.subarray(0, 1000), data.subarray(1000)])) =>
    new Promise<{ err: Error | null; id?: string; aborted: PullEnd[] }>((resolve) =>
      rpc.add(expected, (err, id) => resolve({ err, id, aborted: source.aborted }))(source),
    )
  assert.deepEqual(await result(), { err: null, id: idOf(data), aborted: [] })
  assert.deepEqual(await result(idOf(data)), { err: null, id: idOf(data), aborted: [] })
  assert.deepEqual((await result({ id: idOf(data) })).id, idOf(data))
  const mismatch = await result(idOf(Buffer.from('other')))
  assert.ok(coded('EBLOB_HASH')(mismatch.err))
  const invalid = await result('not an id')
  assert.ok(invalid.err instanceof InvalidRefError)
  assert.equal(invalid.aborted.length, 1, 'the writer hears the error instead of waiting')
  assert.equal(invalid.aborted[0], invalid.err)
  // Strings are utf8, as multiblob takes them.
  const text = await new Promise<string | undefined>((resolve) => rpc.add(undefined, (_err, id) => resolve(id))(recordingSource<string | Uint8Array>(['hi'])))
  assert.equal(text, idOf(Buffer.from('hi')))
})

test('has and size take an id, {id}, or an array; meta, rm, want', async (t) => {
  const store = await tempStore(t)
  const rpc = createBlobsRpc(store)
  const a = await store.add(bytes(10, 4))
  const b = idOf(Buffer.from('absent'))
  assert.equal(await rpc.has(a), true)
  assert.equal(await rpc.has({ id: b }), false)
  assert.deepEqual(await rpc.has([a, b]), [true, false])
  assert.deepEqual(await rpc.size([a, b]), [10, null])
  await assert.rejects(rpc.has([a, 'bad']), InvalidRefError)
  await assert.rejects(rpc.has('bad'), InvalidRefError)
  assert.equal((await rpc.meta(a))?.size, 10)
  const wanted = rpc.want({ id: b })
  await store.add(Buffer.from('absent'))
  assert.equal(await wanted, true)
  await rpc.rm(a)
  assert.equal(await rpc.has(a), false)
  await rpc.rm(a)
})

test('ls lists old blobs, then {sync: true}, then live ones; changes gives new ids', async (t) => {
  const store = await tempStore(t)
  const rpc = createBlobsRpc(store)
  const a = await store.add(bytes(10, 5))
  assert.deepEqual(await collect(rpc.ls()), [a])
  assert.deepEqual(
    (await collect(rpc.ls({ meta: true }))).map((m) => (typeof m === 'object' && 'size' in m ? m.size : m)),
    [10],
  )

  const live = fromPullSource(rpc.ls({ live: true, meta: true }))[Symbol.asyncIterator]()
  const changes = fromPullSource(rpc.changes())[Symbol.asyncIterator]()
  assert.deepEqual((await live.next()).value, await store.meta(a))
  assert.deepEqual((await live.next()).value, { sync: true })
  const b = await store.add(bytes(20, 6))
  const added = (await live.next()).value as BlobMeta
  assert.deepEqual([added.id, added.size], [b, 20])
  assert.equal((await changes.next()).value, b)
  await live.return(undefined)
  await changes.return(undefined)
})

test('toPullSource answers a read still waiting when the reader aborts', async () => {
  const never: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => {}) }),
  }
  let stopped = false
  const source = toPullSource(never, { onAbort: () => (stopped = true) })
  const pending = new Promise<PullEnd>((resolve) => source(null, (end) => resolve(end)))
  const aborted = new Promise<PullEnd>((resolve) => source(true, (end) => resolve(end)))
  assert.equal(await pending, true)
  assert.equal(await aborted, true)
  assert.equal(stopped, true)
})

test('fromPullSource aborts the source when the reader stops early, and surfaces errors', async () => {
  const source = recordingSource([1, 2, 3])
  for await (const n of fromPullSource(source)) if (n === 2) break
  assert.deepEqual(source.aborted, [true])
  const failing: PullSource<number> = (_abort, cb) => cb(new Error('remote failed'))
  await assert.rejects(collect(failing), /remote failed/)
})

test('two of our stores replicate through the RPC adapters, as the network layer wires them', async (t) => {
  const a = await tempStore(t)
  const b = await tempStore(t)
  const rpcA = createBlobsRpc(a)
  const rpcB = createBlobsRpc(b)
  const connected = [
    rpcA.connect('@b', { createWants: () => rpcB.createWants('@a'), get: (opts) => rpcB.get(opts) }),
    rpcB.connect('@a', { createWants: () => rpcA.createWants('@b'), get: (opts) => rpcA.get(opts) }),
  ]
  const x = bytes(200_000, 8)
  const X = await b.add(x)
  await a.want(X)
  assert.equal(await a.size(X), 200_000)
  // Closing one side ends its stream; the other side's connect resolves as its peer goes away.
  a.close()
  await connected[1]
  await assert.rejects(collect(rpcA.createWants('@c')), coded('EBLOB_CLOSED'))
  await connected[0]
})
