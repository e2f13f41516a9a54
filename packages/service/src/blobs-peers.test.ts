// Blobs between running apps, as `hearsay start` runs them: real LevelDB stores and blob
// folders in temp dirs, real secret-handshake TCP on 127.0.0.1, and ssb-server@16 with its own
// ssb-blobs as the reference peer. Blobs referenced by messages of followed feeds must be
// fetched by themselves: no test here asks for one with `blobs.want`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import pull, { type Sink } from 'pull-stream'
import { generateIdentity, toBlobId, type BlobId, type FeedId } from '@hearsay/keys'
import { toPullSource, type BlobStore, type PullSource } from '@hearsay/blobs'
import { Peer, type PeerEvent } from '@hearsay/network'
import { startReferencePeer, call } from '@hearsay/network/testing/reference'
import { tempStore } from '@hearsay/network/testing/helpers'
import { blobsPath } from './data-dir.ts'
import { blobLinks } from './blobs-plugin.ts'
import { defer, startTestApp, waitForSequence, type Teardown } from './testing.ts'
import type { App } from './app.ts'

function idOf(bytes: Uint8Array): BlobId {
  return toBlobId(createHash('sha256').update(bytes).digest())
}

/** Resolves once `store` holds `id` (however it got there). */
async function arrival(store: BlobStore, id: BlobId): Promise<void> {
  let done!: () => void
  const arrived = new Promise<void>((resolve) => (done = resolve))
  const unsubscribe = store.onAdd((meta) => {
    if (meta.id === id) done()
  })
  try {
    if (await store.has(id)) return
    await arrived
  } finally {
    unsubscribe()
  }
}

async function bytesOf(store: BlobStore, id: BlobId): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of await store.get(id)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Every file under the blob folder (sha256/ and tmp/), relative to it. */
async function blobFiles(app: App): Promise<string[]> {
  const entries = await readdir(blobsPath(app.dataDir), { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(blobsPath(app.dataDir), path.join(entry.parentPath, entry.name))).sort()
}

/** `app` follows `author` and publishes a post that shows `ids` as images. */
async function postWithImages(app: App, ids: readonly BlobId[]): Promise<number> {
  const post = await app.handlers.publishPost({ text: ids.map((id, i) => `![picture ${i}](${id})`).join(' ') })
  return (await app.store.get(post.id))!.value.sequence
}

async function follow(app: App, author: FeedId): Promise<void> {
  await app.handlers.setFollow(author, true)
}

test('blob links are found anywhere in the content, each once, and only real blob ids', () => {
  const a = idOf(Buffer.from('a'))
  const b = idOf(Buffer.from('b'))
  assert.deepEqual(blobLinks({ type: 'post', mentions: [{ link: a }, { link: a, name: 'again' }] }), [a])
  assert.deepEqual(blobLinks({ type: 'about', image: { link: b, size: 3 } }), [b])
  assert.deepEqual(blobLinks({ type: 'about', image: a }), [a])
  // Ids inside text, malformed ids and feed ids are not links.
  assert.deepEqual(blobLinks({ type: 'post', text: `see ${a}`, mentions: [{ link: '&abc.sha256' }, { link: '@x.ed25519' }] }), [])
  // A hostile message cannot make us walk (or want) without end.
  let deep: unknown = a
  for (let i = 0; i < 100; i++) deep = { nested: deep }
  assert.deepEqual(blobLinks(deep), [])
  const many = Array.from({ length: 500 }, (_, i) => ({ link: idOf(Buffer.from(String(i))) }))
  assert.equal(blobLinks({ mentions: many }).length, 64)
})

test('a blob in a post is fetched by a follower from the author, and the bytes hash to its id', { timeout: 30_000 }, async (t) => {
  const alice = await startTestApp(t)
  const bob = await startTestApp(t)
  const bytes = randomBytes(300_000) // several muxrpc frames
  const id = await alice.blobs.add(bytes)
  const sequence = await postWithImages(alice, [id])
  await follow(bob, alice.id)
  await bob.handlers.connect(alice.peer.address!)
  await waitForSequence(bob, alice.id, sequence)
  await arrival(bob.blobs, id)
  assert.ok((await bytesOf(bob.blobs, id)).equals(bytes))
  assert.equal(idOf(await bytesOf(bob.blobs, id)), id)

  // Other peers get what ssb-blobs lets anonymous peers call (has, get, …), not the rest.
  const toBob = alice.peer.connections.find((connection) => connection.id === bob.id)!.rpc.blobs as Record<string, (...args: unknown[]) => void>
  assert.equal(await new Promise((resolve, reject) => toBob.has!(id, (err: Error | null, has: boolean) => (err ? reject(err) : resolve(has)))), true)
  for (const method of ['want', 'rm', 'push', 'size']) {
    await assert.rejects(new Promise((resolve, reject) => toBob[method]!(id, (err: Error | null, value: unknown) => (err ? reject(err) : resolve(value)))), (err: { message?: unknown }) => /is not in list of allowed methods/.test(String(err.message)), method)
  }
  assert.equal(await bob.blobs.has(id), true, 'rm was refused')
})

test('a blob in a post of a followed ssb-server@16 feed is fetched from it, and ssb-server fetches ours', { timeout: 60_000 }, async (t) => {
  const reference = await startReferencePeer(t, { blobs: true })
  const client = reference.client as unknown as {
    blobs: {
      add(done: (err: Error | null, id: BlobId) => void): Sink<Buffer>
      want(id: BlobId, done: (err: Error | null, value: unknown) => void): void
      get(id: BlobId): PullSource<Buffer>
    }
  }
  const theirs = randomBytes(50_000)
  const theirId = await new Promise<BlobId>((resolve, reject) => {
    pull(pull.values([theirs]), client.blobs.add((err, added) => (err ? reject(err) : resolve(added))))
  })
  assert.equal(theirId, idOf(theirs))
  const published = await call<{ key: string; value: { sequence: number } }>((cb) =>
    reference.client.publish({ type: 'post', text: `![theirs](${theirId})`, mentions: [{ link: theirId, name: 'theirs' }] }, cb))

  const app = await startTestApp(t)
  await follow(app, reference.id)
  await app.handlers.connect(reference.address)
  await waitForSequence(app, reference.id, published.value.sequence)
  await arrival(app.blobs, theirId)
  assert.ok((await bytesOf(app.blobs, theirId)).equals(theirs))

  // And the other way: ssb-server wants one of ours and gets it over the same connection.
  const ours = randomBytes(20_000)
  const ourId = await app.blobs.add(ours)
  await call<unknown>((cb) => client.blobs.want(ourId, cb))
  const fetched = await new Promise<Buffer>((resolve, reject) => {
    pull(client.blobs.get(ourId), pull.collect<Buffer>((err, chunks) => (err ? reject(err) : resolve(Buffer.concat(chunks)))))
  })
  assert.ok(fetched.equals(ours))
})

/**
 * A peer whose `blobs` namespace claims to have `id` and serves `bytes` for it: real muxrpc
 * over TCP, but lying. `served` resolves once a `blobs.get` has been read to its end.
 */
async function lyingPeer(t: Teardown, id: BlobId, bytes: Buffer): Promise<{ peer: Peer; served: Promise<void> }> {
  const identity = generateIdentity()
  const store = await tempStore(t, identity)
  let done!: () => void
  const served = new Promise<void>((resolve) => (done = resolve))
  const peer = new Peer({
    store, identity, host: '127.0.0.1', port: 0,
    plugins: [{
      name: 'blobs',
      manifest: { createWants: 'source', get: 'source' },
      peerMethods: ['createWants', 'get'],
      handlers: {
        // A have for the blob, then stays open as a real wants stream does.
        createWants: () => toPullSource((async function* () {
          yield { [id]: bytes.length }
          await new Promise(() => {})
        })()),
        get: () => toPullSource((async function* () {
          yield bytes
          done()
        })()),
      },
    }],
  })
  defer(t, () => peer.stop())
  await peer.start()
  return { peer, served }
}

test('bytes that do not match the blob id are discarded; the blob is fetched when a peer that has it connects later', { timeout: 30_000 }, async (t) => {
  const real = randomBytes(10_000)
  const id = idOf(real)
  const alice = await startTestApp(t) // links the blob, but does not have it
  const bob = await startTestApp(t)
  const sequence = await postWithImages(alice, [id])
  await follow(bob, alice.id)
  await bob.handlers.connect(alice.peer.address!)
  await waitForSequence(bob, alice.id, sequence)
  assert.equal(await bob.blobs.has(id), false)

  // Same length, different bytes: a peer serving garbage under the id.
  const liar = await lyingPeer(t, id, randomBytes(real.length))
  await liar.peer.connect(bob.peer.address!)
  await liar.served
  await liar.peer.stop()
  assert.equal(await bob.blobs.has(id), false)
  assert.equal(bob.blobs.wants()[id], -1, 'still wanted after the bad copy')

  // A peer that really has it connects later: bob fetches it from there. Had the liar's bytes
  // been kept under the id, they would be what bob has now, and carol would never be asked.
  const carol = await startTestApp(t)
  await carol.blobs.add(real)
  await carol.handlers.connect(bob.peer.address!)
  await arrival(bob.blobs, id)
  assert.ok((await bytesOf(bob.blobs, id)).equals(real))
  assert.deepEqual((await blobFiles(bob)).filter((file) => file.startsWith('tmp')), [])
})

test('a linked blob above the size limit is not fetched; one within it is', { timeout: 30_000 }, async (t) => {
  const alice = await startTestApp(t)
  const bob = await startTestApp(t, { blobMaxSize: 100_000 })
  const big = await alice.blobs.add(randomBytes(400_000))
  const small = await alice.blobs.add(randomBytes(1_000))
  // The big one first: its have is decided before the small one's fetch even starts.
  const sequence = await postWithImages(alice, [big, small])
  await follow(bob, alice.id)
  await bob.handlers.connect(alice.peer.address!)
  await waitForSequence(bob, alice.id, sequence)
  await arrival(bob.blobs, small)
  assert.equal(await bob.blobs.has(big), false)
  assert.equal(bob.blobs.wants()[big], -1, 'wanted, but not fetched')
  // Not even partly: far fewer bytes came from alice than the big blob has.
  const fromAlice = bob.peer.connections.find((connection) => connection.id === alice.id)!
  assert.ok(fromAlice.traffic.bytesIn < 200_000, `received ${fromAlice.traffic.bytesIn} bytes`)
})

test('a linked blob still missing when the app stops is asked for again after a restart', { timeout: 30_000 }, async (t) => {
  const real = randomBytes(5_000)
  const id = idOf(real)
  const alice = await startTestApp(t)
  const sequence = await postWithImages(alice, [id]) // she does not have it yet
  const first = await startTestApp(t)
  await follow(first, alice.id)
  await first.handlers.connect(alice.peer.address!)
  await waitForSequence(first, alice.id, sequence)
  await first.close() // waits for the note that the blob is missing to be written

  // Same data directory: the post is stored already, so nothing new links the blob now.
  await alice.blobs.add(real)
  const again = await startTestApp(t, { dataDir: first.dataDir })
  await again.handlers.connect(alice.peer.address!)
  await arrival(again.blobs, id)
  assert.ok((await bytesOf(again.blobs, id)).equals(real))
  // Fetched: no longer kept as missing (a start tidies up what an earlier one could not).
  await again.close()
  const third = await startTestApp(t, { dataDir: first.dataDir })
  assert.deepEqual(await third.store.localState('blob-wants').list(), [])
})

test('blobs still flow after a connection is replaced by the one the other side dialed', { timeout: 60_000 }, async (t) => {
  const events: PeerEvent[] = []
  const one = await startTestApp(t, { onEvent: (event) => events.push(event) })
  const two = await startTestApp(t)
  const bytes = randomBytes(20_000)
  const id = idOf(bytes)
  const sequence = await postWithImages(two, [id]) // linked, but nobody has it yet
  await follow(one, two.id)
  await one.handlers.connect(two.peer.address!)
  await waitForSequence(one, two.id, sequence)
  // Dialling each other at once: both keep the connection the smaller id dialed, and one that
  // was already up is closed for it. Which one wins the race varies, so dial until that happened.
  const replaced = () => events.some((event) => event.event === 'disconnected' && /^replaced by/.test(event.reason ?? ''))
  for (let attempt = 0; attempt < 300 && !replaced(); attempt++) {
    for (const app of [one, two]) app.peer.disconnect(app === one ? two.id : one.id)
    await Promise.allSettled([one.peer.connect(two.peer.address!), two.peer.connect(one.peer.address!)])
  }
  assert.ok(replaced(), 'a connection that was up got replaced')
  // Only now does anyone have it: it must travel over the connection that replaced the other.
  await two.blobs.add(bytes)
  await arrival(one.blobs, id)
  assert.ok((await bytesOf(one.blobs, id)).equals(bytes))
})
