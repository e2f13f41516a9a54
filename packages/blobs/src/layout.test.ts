import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { BlobId } from '@hearsay/keys'
import { blobPath, EMPTY_BLOB_ID, openBlobStore } from './index.ts'
import { bytes, filesUnder, idOf, readAll, tempDir } from './test-helpers.ts'

// ssb-blobs' own store: multiblob configured by ssb-blobs/create.js, loaded in-process so the
// layout is compared with the real thing rather than a copy of its path function.
const require = createRequire(import.meta.url)
type Cb<T> = (err: Error | null, value?: T) => void
interface MultiBlob {
  add(id: string | null, cb: Cb<string>): (source: unknown) => void
  get(id: string): unknown
  size(id: string, cb: Cb<number | null>): void
  ls(opts: object): unknown
  resolve(id: string): string
}
const createSsbBlobs = require('ssb-blobs/create') as (dir: string) => MultiBlob
const pull = require('pull-stream') as {
  (...streams: unknown[]): void
  values(items: unknown[]): unknown
  collect(cb: Cb<unknown[]>): unknown
}

function theirAdd(store: MultiBlob, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    pull(
      pull.values([data]),
      store.add(null, (err, id) => (err ? reject(err) : resolve(id!))),
    )
  })
}

function collect(source: unknown): Promise<unknown[]> {
  return new Promise((resolve, reject) => pull(source, pull.collect((err, items) => (err ? reject(err) : resolve(items!)))))
}

const samples = [Buffer.from('hello'), Buffer.alloc(0), bytes(1024 * 1024 + 1, 29), Buffer.from([0, 255, 0, 255])]

test('blobs land at exactly the paths ssb-blobs (multiblob) uses, with the same bytes', async (t) => {
  const base = await tempDir(t)
  const theirsDir = path.join(base, 'theirs', 'blobs')
  const oursDir = path.join(base, 'ours', 'blobs')
  const theirs = createSsbBlobs(theirsDir)
  const ours = await openBlobStore({ dir: oursDir })
  t.after(() => ours.close())
  for (const data of samples) {
    const theirId = await theirAdd(theirs, data)
    const ourId = await ours.add(data)
    assert.equal(ourId, theirId, 'same id')
    assert.equal(path.relative(oursDir, blobPath(oursDir, ourId)), path.relative(theirsDir, theirs.resolve(theirId)))
  }
  const theirFiles = (await filesUnder(theirsDir)).filter((f) => !f.startsWith('tmp/'))
  const ourFiles = (await filesUnder(oursDir)).filter((f) => !f.startsWith('tmp/') && f !== 'push.json')
  assert.equal(theirFiles.length, samples.length)
  assert.deepEqual(ourFiles, theirFiles)
  for (const file of ourFiles) {
    assert.deepEqual(await readFile(path.join(oursDir, file)), await readFile(path.join(theirsDir, file)), file)
  }
  // Spot check against the layout written out by hand: sha256/<2 hex>/<62 hex>.
  assert.equal(
    path.relative(oursDir, blobPath(oursDir, idOf(Buffer.from('hello')))),
    path.join('sha256', '2c', 'f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'),
  )
  assert.equal(EMPTY_BLOB_ID, idOf(Buffer.alloc(0)))
})

test('a folder written by ssb-blobs opens in place, and ssb-blobs reads what we write', async (t) => {
  const dir = path.join(await tempDir(t), 'blobs')
  const theirs = createSsbBlobs(dir)
  const theirIds: string[] = []
  for (const data of samples) theirIds.push(await theirAdd(theirs, data))

  const ours = await openBlobStore({ dir })
  t.after(() => ours.close())
  for (const [i, id] of theirIds.entries()) {
    assert.deepEqual(await readAll(await ours.get(id as BlobId)), samples[i], id)
  }
  const listed: string[] = []
  for await (const id of ours.ls()) listed.push(id)
  assert.deepEqual(listed.sort(), [...theirIds].sort())

  const extra = bytes(70_000, 31)
  const ourId = await ours.add(extra)
  const again = createSsbBlobs(dir) // a fresh ssb-blobs on the same folder, as after switching apps
  const chunks = (await collect(again.get(ourId))) as Buffer[]
  assert.deepEqual(Buffer.concat(chunks), extra)
  const size = await new Promise<number | null | undefined>((resolve, reject) =>
    again.size(ourId, (err, n) => (err ? reject(err) : resolve(n))),
  )
  assert.equal(size, extra.length)
  const theirListing = (await collect(again.ls({}))) as string[]
  assert.deepEqual(theirListing.sort(), [...theirIds, ourId].sort(), 'push.json and tmp/ are invisible to multiblob')
})
