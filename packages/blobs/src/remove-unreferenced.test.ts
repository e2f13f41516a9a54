// Reclaiming blob space: only blobs nothing links to go; linked, fresh and pushed ones stay.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { BlobId } from '@hearsay/keys'
import { bytes, idOf, tempStore } from './test-helpers.ts'

test('removeUnreferenced deletes unlinked blobs and never one that is linked', async (t) => {
  const store = await tempStore(t)
  const linked = await store.add(bytes(1000, 1))
  const unlinked = await store.add(bytes(2000, 2))
  const alsoUnlinked = await store.add(bytes(30, 3))
  assert.deepEqual(await store.usage(), { count: 3, bytes: 3030 })
  const asked: BlobId[] = []
  const result = await store.removeUnreferenced({
    keepNewerThan: 0,
    isReferenced: async (id) => {
      asked.push(id)
      return id === linked
    },
  })
  assert.deepEqual(new Set(result.removed), new Set([unlinked, alsoUnlinked]))
  assert.equal(result.bytes, 2030)
  assert.equal(result.kept, 1)
  assert.equal(asked.length, 3, 'each blob is checked')
  assert.equal(await store.has(linked), true)
  assert.equal(await store.has(unlinked), false)
  assert.equal(existsSync(store.path(unlinked)), false, 'the file is gone')
  assert.deepEqual(await store.usage(), { count: 1, bytes: 1000 })
  // Running again removes nothing more.
  assert.deepEqual(await store.removeUnreferenced({ keepNewerThan: 0, isReferenced: (id) => id === linked }), { removed: [], bytes: 0, kept: 1 })
})

test('removeUnreferenced keeps fresh uploads and blobs being pushed, and refuses a bad age', async (t) => {
  const store = await tempStore(t)
  const fresh = await store.add(bytes(10, 4))
  assert.deepEqual(await store.removeUnreferenced({ isReferenced: () => false }), { removed: [], bytes: 0, kept: 1 }, 'an upload younger than an hour stays')
  await store.push(fresh)
  assert.deepEqual((await store.removeUnreferenced({ keepNewerThan: 0, isReferenced: () => false })).removed, [], 'a pushed blob stays')
  for (const keepNewerThan of [-1, Number.NaN, Infinity]) {
    await assert.rejects(store.removeUnreferenced({ keepNewerThan, isReferenced: () => false }), RangeError)
  }
  assert.equal(await store.has(fresh), true)
  // A reference check that fails stops the removal without deleting the blob it was asked about.
  const other = await store.add(bytes(20, 5))
  await assert.rejects(store.removeUnreferenced({ keepNewerThan: 0, isReferenced: (id) => { if (id === other) throw new Error('index unreadable'); return false } }), /index unreadable/)
  assert.equal(await store.has(other), true)
  assert.equal(idOf(bytes(20, 5)), other)
})
