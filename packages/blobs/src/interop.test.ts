import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { BlobId } from '@hearsay/keys'
import { createBlobsRpc, fromPullSource, type BlobStore, type PullSource, type WantsMessage } from './index.ts'
import { bytes, idOf, tempDir, tempStore } from './test-helpers.ts'

// ssb-blobs' replication logic (inject.js) run in-process against ours. Only secret-stack and
// LevelDB are left out: its blob store is the real multiblob (ssb-blobs/create.js) and its push
// set is ssb-blobs' own test double; the "RPC" is a direct call with the caller's id as `this`,
// as ssb-blobs' own tests do it (test/util.js `peers`).
const require = createRequire(import.meta.url)
type Cb<T> = (err: Error | null, value?: T) => void
interface SsbBlobs {
  createWants(this: { id: string }): PullSource<WantsMessage>
  get(opts: unknown): PullSource<Buffer>
  want(id: string, cb: Cb<boolean>): void
  has(id: string, cb: Cb<boolean>): void
  /** Note: `add(null, cb)` would drop cb (inject.js:47-55, wrap()), so no id means cb alone. */
  add(cb: Cb<string>): (source: PullSource<Buffer>) => void
  _onConnect(peer: { id: string; blobs: unknown }, name: string): void
}
const inject = require('ssb-blobs/inject') as (blobs: unknown, set: unknown, name: string, opts?: object) => SsbBlobs
const createMultiblob = require('ssb-blobs/create') as (dir: string) => { resolve(id: string): string }
const mockSet = require('ssb-blobs/test/mock/set') as (async: unknown) => unknown
// ssb-blobs' tests inject an `async` helper to shuffle timing; the identity one is its `sync`.
const noAsync = Object.assign(<F>(fn: F) => fn, { through: () => <T>(read: T) => read, done: () => {} })

async function ssbBlobs(t: Parameters<typeof tempDir>[0], opts?: object): Promise<{ peer: SsbBlobs; dir: string }> {
  const dir = path.join(await tempDir(t), 'blobs')
  return { peer: inject(createMultiblob(dir), mockSet(noAsync), 'theirs', opts), dir }
}

/** Records each message a pull source yields. */
function tap<T>(source: PullSource<T>, log: T[]): PullSource<T> {
  return (abort, cb) =>
    source(abort, (end, data) => {
      if (!end) log.push(data as T)
      cb(end, data)
    })
}

function values<T>(items: T[]): PullSource<T> {
  let i = 0
  return (abort, cb) => (abort ? cb(abort) : i < items.length ? cb(null, items[i++]) : cb(true))
}

function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))))
}

/** Connects our store to an ssb-blobs instance both ways; logs what each side sends. */
function connect(ours: BlobStore, theirs: SsbBlobs) {
  const rpc = createBlobsRpc(ours)
  const sentByUs: WantsMessage[] = []
  const sentByThem: WantsMessage[] = []
  const theirGets: unknown[] = []
  theirs._onConnect(
    {
      id: 'ours',
      blobs: {
        createWants: () => tap(rpc.createWants('theirs'), sentByUs),
        get: (opts: unknown) => {
          theirGets.push(opts)
          return rpc.get(opts)
        },
      },
    },
    'OT',
  )
  const done = rpc.connect('theirs', {
    createWants: () => tap(theirs.createWants.call({ id: 'ours' }), sentByThem),
    get: (opts) => theirs.get(opts),
  })
  done.catch(() => {})
  return { sentByUs, sentByThem, theirGets, session: ours.wantsSession('theirs') }
}

test('we fetch a blob from ssb-blobs: our want, its have, its get({key, max})', async (t) => {
  const ours = await tempStore(t)
  const { peer: theirs } = await ssbBlobs(t)
  const x = bytes(70_000, 1)
  const X = await call<string>((cb) => theirs.add(cb)(values([x])))
  assert.equal(X, idOf(x))
  const wire = connect(ours, theirs)
  t.after(() => wire.session.close())
  await ours.want(X as BlobId)
  assert.equal(await ours.size(X as BlobId), 70_000)
  assert.deepEqual(wire.sentByThem.slice(0, 2), [{}, { [X]: 70_000 }], 'its opening wants, then its answer')
  assert.deepEqual(wire.sentByUs.slice(0, 2), [{}, { [X]: -1 }])
})

test('ssb-blobs fetches a blob from us through our get, and stores it where we would', async (t) => {
  const ours = await tempStore(t)
  const { peer: theirs, dir } = await ssbBlobs(t)
  const y = bytes(123_456, 2)
  const Y = await ours.add(y)
  const wire = connect(ours, theirs)
  t.after(() => wire.session.close())
  assert.equal(await call<boolean>((cb) => theirs.want(Y, cb)), true)
  assert.deepEqual(await readFile(createMultiblob(dir).resolve(Y)), y)
  assert.deepEqual(wire.theirGets, [{ key: Y, max: 5 * 1024 * 1024 }], 'ssb-blobs asks with {key, max}')
  assert.deepEqual(wire.sentByThem[1], { [Y]: -1 })
  assert.ok(wire.sentByUs.some((m) => JSON.stringify(m) === JSON.stringify({ [Y]: 123_456 })))
})

test('wants are forwarded across the two implementations with one more hop each way', async (t) => {
  const ours = await tempStore(t)
  const { peer: theirs } = await ssbBlobs(t)
  const wire = connect(ours, theirs)
  t.after(() => wire.session.close())
  const Z = idOf(Buffer.from('nobody has this'))
  // A third peer asks us for Z at -1: we want it at -2 and tell ssb-blobs, which wants it at -3
  // and says so back to us; we already want it closer, so that is where it stops.
  const third = ours.wantsSession('third')
  await third.receive({ [Z]: -1 })
  const fromThem = fromPullSource(tap(theirs.createWants.call({ id: 'watcher' }), []))
  const it = fromThem[Symbol.asyncIterator]()
  let msg = (await it.next()).value as WantsMessage
  while (!(Z in msg)) msg = (await it.next()).value as WantsMessage
  assert.deepEqual(msg, { [Z]: -3 })
  await it.return(undefined)
  assert.deepEqual(ours.wants(), { [Z]: -2 })
  assert.ok(wire.sentByUs.some((m) => JSON.stringify(m) === JSON.stringify({ [Z]: -2 })))
  third.close()
})

// ssb-blobs' own unit tests for the exchange (node_modules/ssb-blobs/test/simple.js), run
// against our session: same inputs, same expected messages.
async function drain(messages: AsyncIterable<WantsMessage>, count: number): Promise<WantsMessage[]> {
  const out: WantsMessage[] = []
  for await (const msg of messages) {
    out.push(msg)
    if (out.length === count) break
  }
  return out
}

function fake(text: string, length: number): Buffer {
  const buffer = Buffer.alloc(length)
  for (let i = 0; i < length; i += Buffer.byteLength(text)) buffer.write(text, i)
  return buffer
}

test("ssb-blobs test/simple.js 'simple': a want for a blob we have is answered with its size", async (t) => {
  const blobs = await tempStore(t)
  const h = await blobs.add(fake('hello', 256))
  const session = blobs.wantsSession('test')
  await session.receive({ [h]: -1 })
  assert.deepEqual(await drain(session.outgoing(), 2), [{}, { [h]: 256 }])
})

test("ssb-blobs test/simple.js 'simple wants': a want is passed on once, at one more hop", async (t) => {
  const blobs = await tempStore(t)
  const h = idOf(fake('hello', 256))
  const session = blobs.wantsSession('test')
  const out = session.outgoing()
  await session.receive({ [h]: -1 })
  await session.receive({ [h]: -2 }) // the echo of our own forward: a cycle, ignored
  session.close() // what is queued is still delivered, and nothing else
  assert.deepEqual(await drain(out, 3), [{}, { [h]: -2 }])
})

test("ssb-blobs test/simple.js 'want' and 'already wanted, before connection'", async (t) => {
  const blobs = await tempStore(t)
  const h = idOf(fake('foobar', 64))
  const session = blobs.wantsSession('test')
  blobs.want(h).catch(() => {}) // never arrives; closing the store rejects it
  assert.deepEqual(await drain(session.outgoing(), 2), [{}, { [h]: -1 }])
  assert.deepEqual(await drain(blobs.wantsSession('later').outgoing(), 1), [{ [h]: -1 }])
})
