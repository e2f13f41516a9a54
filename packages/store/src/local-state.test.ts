import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Level } from 'level'
import { generateIdentity } from '@hearsay/keys'
import { openStore, StoreError } from './index.ts'
import { collect, posts, signChain, tempDir } from './test-helpers.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))

test('local state keeps JSON values by key, apart per name and from the log, across reopening', async (t) => {
  const dir = await tempDir(t)
  const store = await openStore({ path: dir, create: true })
  await store.append(alice.id, signChain(alice, posts(3)).map((m) => m.value))
  const peers = store.localState<{ failures: number }>('conn')
  const other = store.localState('settings')
  assert.equal(await peers.get('net:a:1'), undefined)
  await peers.put('net:b:2', { failures: 2 })
  await peers.put('net:a:1', { failures: 0 })
  await peers.put('net:a:1', { failures: 1 }) // replaces
  await other.put('net:a:1', 'theme: dark')
  assert.deepEqual(await peers.get('net:a:1'), { failures: 1 })
  assert.deepEqual(await peers.list(), [['net:a:1', { failures: 1 }], ['net:b:2', { failures: 2 }]])
  assert.deepEqual(await other.list(), [['net:a:1', 'theme: dark']])
  await peers.del('net:b:2')
  await peers.del('never there') // deleting what is absent is no error
  await store.close()
  await assert.rejects(peers.get('net:a:1'), (err: unknown) => err instanceof StoreError && err.code === 'ESTORE_CLOSED')

  const reopened = await openStore({ path: dir })
  t.after(() => reopened.close())
  assert.deepEqual(await reopened.localState('conn').list(), [['net:a:1', { failures: 1 }]])
  assert.deepEqual(await reopened.localState('settings').list(), [['net:a:1', 'theme: dark']])
  // The log and its indexes never see local state.
  assert.equal(reopened.lastOffset, 3)
  assert.equal((await collect(reopened.readLog())).length, 3)
})

test('bad names and values are refused; an undecodable stored value is reported, the rest still readable', async (t) => {
  const dir = await tempDir(t)
  const store = await openStore({ path: dir, create: true })
  for (const name of ['', 'a!b', 'with space', 'x'.repeat(65), 'ümlaut']) {
    assert.throws(() => store.localState(name), RangeError, JSON.stringify(name))
  }
  const state = store.localState('conn')
  await assert.rejects(state.put('fn', () => 1), TypeError)
  await assert.rejects(state.put('nothing', undefined), TypeError)
  await state.put('good', { ok: true })
  await store.close()

  // Damage one value behind the store's back, as a stray tool or a bad disk might.
  const raw = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await raw.sublevel<string, string>(['local', 'conn'], { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put('bad', '{"trunc')
  await raw.close()

  const reopened = await openStore({ path: dir })
  t.after(() => reopened.close())
  const again = reopened.localState('conn')
  await assert.rejects(again.get('bad'), (err: unknown) => err instanceof StoreError && err.code === 'ESTORE_CORRUPT' && /conn\/bad is not JSON/.test(err.message))
  await assert.rejects(again.list(), (err: unknown) => err instanceof StoreError && err.code === 'ESTORE_CORRUPT')
  assert.deepEqual(await again.get('good'), { ok: true })
  await again.del('bad')
  assert.deepEqual(await again.list(), [['good', { ok: true }]])
})
