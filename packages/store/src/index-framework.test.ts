import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity } from '@hearsay/keys'
import { boxContent } from '@hearsay/box1'
import {
  openStore, defaultIndexes, messagesByType,
  type IndexDefinition, type IndexProgress, type IndexedMessage,
} from './index.ts'
import { posts, signChain, tempDir } from './test-helpers.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))
const carol = generateIdentity(Buffer.alloc(32, 3))

function textOf(message: IndexedMessage): unknown {
  return (message.value.content as { text?: unknown }).text
}

/** An index that counts what it sees, to observe rebuilds. */
function countingIndex(version: number, seen: IndexedMessage[]): IndexDefinition {
  return {
    name: 'counting',
    version,
    index(message, writer) {
      seen.push(message)
      writer.put(Buffer.from(message.key), Buffer.from('x'))
    },
  }
}

test('messagesByType pages newest first by cursor until exhausted', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true })
  t.after(() => store.close())
  const chain = signChain(alice, [...posts(120), { type: 'vote', vote: { link: '%x', value: 1 } }])
  await store.append(alice.id, chain.map((m) => m.value))
  const seen: number[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await messagesByType(store, 'post', { limit: 50, ...(cursor ? { cursor } : {}) })
    seen.push(...page.items.map((m) => m.value.sequence))
    cursor = page.cursor
    pages++
  } while (cursor)
  assert.equal(pages, 3)
  assert.deepEqual(seen, Array.from({ length: 120 }, (_, i) => 120 - i))
  assert.equal((await messagesByType(store, 'vote')).items.length, 1)
  assert.equal((await messagesByType(store, 'pos')).items.length, 0, 'a type is not a prefix of another')
  await assert.rejects(messagesByType(store, 'post', { cursor: 'not a cursor!' }), RangeError)
})

test('reopening rebuilds nothing; bumping one version rebuilds only that index, with progress', async (t) => {
  const dir = await tempDir(t)
  const seen: IndexedMessage[] = []
  const progress: IndexProgress[] = []
  let store = await openStore({ path: dir, create: true, indexes: [...defaultIndexes(), countingIndex(1, seen)], onIndexProgress: (p) => progress.push(p) })
  await store.append(alice.id, signChain(alice, posts(4500)).map((m) => m.value))
  await store.close()
  assert.equal(seen.length, 4500, 'indexed while appending')
  assert.ok(progress.every((p) => p.total === 0), 'a new store has nothing to rebuild')

  progress.length = 0
  store = await openStore({ path: dir, indexes: [...defaultIndexes(), countingIndex(1, seen)], onIndexProgress: (p) => progress.push(p) })
  await store.close()
  assert.equal(progress.length, 0, 'nothing rebuilt')
  assert.equal(seen.length, 4500)

  store = await openStore({ path: dir, indexes: [...defaultIndexes(), countingIndex(2, seen)], onIndexProgress: (p) => progress.push(p) })
  t.after(() => store.close())
  assert.equal(seen.length, 9000, 'the bumped index saw every message again')
  assert.deepEqual(new Set(progress.map((p) => p.index)), new Set(['counting']))
  assert.deepEqual(progress.map((p) => p.done), [2000, 4000, 4500])
  assert.ok(progress.every((p) => p.total === 4500 && p.reason === 'version'))
  assert.equal((await messagesByType(store, 'post', { limit: 1 })).items[0]?.value.sequence, 4500, 'the other index is intact')
})

test('private messages for our identity are decrypted for indexing and reading, never typed as public', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true, identity: bob })
  t.after(() => store.close())
  const toBob = boxContent({ type: 'post', text: 'psst bob' }, [alice.id, bob.id])
  const toCarol = boxContent({ type: 'post', text: 'psst carol' }, [alice.id, carol.id])
  const chain = signChain(alice, [{ type: 'post', text: 'public' }, toBob, toCarol])
  const live: IndexedMessage[] = []
  store.subscribe((m) => live.push(m))
  await store.append(alice.id, chain.map((m) => m.value))

  assert.deepEqual(live.map((m) => m.private ?? false), [false, true, false])
  assert.equal(textOf(live[1]!), 'psst bob')
  assert.equal(typeof live[2]!.value.content, 'string', 'not for us: stays opaque')
  const publicPosts = await messagesByType(store, 'post')
  assert.deepEqual(publicPosts.items.map((m) => m.key), [chain[0]!.key])

  const raw = await store.get(chain[1]!.key)
  assert.equal(raw?.value.content, toBob, 'reads give the signed, boxed original by default')
  const decrypted = await store.get(chain[1]!.key, { decrypt: true })
  assert.equal(decrypted?.private, true)
  assert.equal(textOf(decrypted!), 'psst bob')
})

test('opening with another identity re-decrypts and rebuilds for it', async (t) => {
  const dir = await tempDir(t)
  let store = await openStore({ path: dir, create: true })
  const chain = signChain(alice, [boxContent({ type: 'post', text: 'for carol' }, [carol.id])])
  await store.append(alice.id, chain.map((m) => m.value))
  assert.equal((await store.get(chain[0]!.key, { decrypt: true }))?.private, undefined)
  await store.close()
  store = await openStore({ path: dir, identity: carol })
  t.after(() => store.close())
  assert.equal((await store.get(chain[0]!.key, { decrypt: true }))?.private, true)
})

test('subscribers hear each stored message once, after it is durable', async (t) => {
  const store = await openStore({ path: await tempDir(t), create: true })
  t.after(() => store.close())
  const heard: string[] = []
  const unsubscribe = store.subscribe((m) => heard.push(m.key))
  const chain = signChain(alice, posts(3))
  await store.append(alice.id, chain.map((m) => m.value))
  await store.append(alice.id, chain.map((m) => m.value))
  unsubscribe()
  await store.publish(bob, { type: 'post', text: 'unheard' })
  assert.deepEqual(heard, chain.map((m) => m.key))
})
