// Connections, Settings and reclaiming space, over real apps: LevelDB stores and blob folders in
// temp dirs, secret-handshake TCP on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { BlobId, FeedId } from '@hearsay/keys'
import { reclaimedFeeds } from '@hearsay/store'
import type { App } from './app.ts'
import { startTestApp, waitForSequence } from './testing.ts'

async function upload(app: App, text: string): Promise<BlobId> {
  return (await app.handlers.addBlob({ base64: Buffer.from(text).toString('base64'), mimeType: 'text/plain' })).id
}

async function arrival(app: App, id: BlobId): Promise<void> {
  let done!: () => void
  const arrived = new Promise<void>((resolve) => (done = resolve))
  const unsubscribe = app.blobs.onAdd((meta) => {
    if (meta.id === id) done()
  })
  try {
    if (!(await app.blobs.has(id))) await arrived
  } finally {
    unsubscribe()
  }
}

function badArgument(err: unknown): boolean {
  assert.equal((err as { code?: string }).code, 'EAPI_BAD_ARGUMENT', String(err))
  return true
}

async function connected(app: App, peer: FeedId): Promise<void> {
  for await (const status of app.handlers.statusLive()) if (status.peers.some((p) => p.id === peer)) return
}

test('reclaiming space removes a blocked feed and the blobs only it linked, keeps the rest, and the feed is fetched again only once unblocked', { timeout: 60_000 }, async (t) => {
  const me = await startTestApp(t, { blobGracePeriod: 0 })
  const spammer = await startTestApp(t)
  const friend = await startTestApp(t)

  const shared = await upload(spammer, 'a picture both post')
  const spamOnly = await upload(spammer, 'spam picture')
  await spammer.handlers.publishPost({ text: `buy now ![spam](${spamOnly}) ![same](${shared})` })
  await spammer.handlers.publishPost({ text: 'and again' })
  await friend.handlers.setFollow(spammer.id, true)
  await friend.handlers.connect(spammer.peer.address!)
  await waitForSequence(friend, spammer.id, 2)
  await arrival(friend, shared)
  await friend.handlers.publishPost({ text: `nice ![same](${shared})` })

  const mine = await upload(me, 'my picture')
  const unlinked = await upload(me, 'uploaded, never posted')
  const myPost = await me.handlers.publishPost({ text: `mine ![me](${mine})` })
  await me.handlers.setFollow(spammer.id, true)
  await me.handlers.setFollow(friend.id, true)
  await me.handlers.connect(friend.peer.address!)
  await waitForSequence(me, spammer.id, 2)
  await waitForSequence(me, friend.id, 2)
  await arrival(me, spamOnly)
  await arrival(me, shared)

  await me.handlers.setBlock(spammer.id, true)
  const before = await me.handlers.storage()
  assert.equal(before.reclaimableFeeds, 1)
  assert.deepEqual(before.feeds.find((feed) => feed.author.id === spammer.id)?.blocked, true)
  assert.equal(before.blobs.count, 4)
  assert.ok(before.messages.bytes > 0)

  const result = await me.handlers.reclaimSpace()
  assert.deepEqual({ feeds: result.feeds, messages: result.messages, blobs: result.blobs }, { feeds: 1, messages: 2, blobs: 2 })
  assert.equal(result.blobBytes, 'spam picture'.length + 'uploaded, never posted'.length)
  assert.equal(await me.store.feedStatus(spammer.id), null)
  assert.deepEqual((await me.handlers.profileFeed(spammer.id)).items, [])
  assert.equal((await me.store.feedStatus(friend.id))?.sequence, 2, "the friend's feed is intact")
  assert.equal((await me.handlers.thread(myPost.id)).root?.id, myPost.id)
  assert.deepEqual(
    { shared: await me.blobs.has(shared), mine: await me.blobs.has(mine), spamOnly: await me.blobs.has(spamOnly), unlinked: await me.blobs.has(unlinked) },
    { shared: true, mine: true, spamOnly: false, unlinked: false },
  )
  const after = await me.handlers.storage()
  assert.equal(after.reclaimableFeeds, 0)
  assert.equal(after.blobs.count, 2)
  assert.ok(!after.feeds.some((feed) => feed.author.id === spammer.id))
  assert.deepEqual(await me.handlers.reclaimSpace(), { feeds: 0, messages: 0, blobs: 0, blobBytes: 0 }, 'a second run finds nothing')

  // The friend still holds the spammer's feed and has more to give; we take the friend's news only.
  await spammer.handlers.publishPost({ text: 'third' })
  await waitForSequence(friend, spammer.id, 3)
  await friend.handlers.publishPost({ text: 'news' })
  await me.handlers.disconnect(friend.id)
  await me.handlers.connect(friend.peer.address!)
  await waitForSequence(me, friend.id, 3)
  assert.equal(await me.store.feedStatus(spammer.id), null, 'not fetched again from a peer that has it')

  // Unblocked and followed again, the feed is fetched afresh from the start, while connected.
  await me.handlers.setBlock(spammer.id, false)
  assert.deepEqual(reclaimedFeeds(me.store), [])
  await me.handlers.setFollow(spammer.id, true)
  await waitForSequence(me, spammer.id, 3)
  assert.deepEqual((await me.handlers.profileFeed(spammer.id)).items.map((post) => post.text), ['third', 'and again', `buy now ![spam](${spamOnly}) ![same](${shared})`])
  assert.ok(me.peer.connections.some((connection) => connection.id === friend.id), 'the friend who sent it is still connected')
})

test('settings: hops and LAN apply to the running peer, are kept across restarts, and bad values are refused', { timeout: 30_000 }, async (t) => {
  const first = await startTestApp(t, { hops: 2 })
  const settings = await first.handlers.settings()
  assert.deepEqual(settings, { hops: 2, maxHops: 4, lan: false, lanActive: false, dataDir: first.dataDir })
  const updated = await first.handlers.updateSettings({ hops: 1, lan: true })
  assert.equal(first.peer.hops, 1, 'applied to the running peer')
  // On 127.0.0.1 the LAN cannot reach us: switched on, it does not run.
  assert.deepEqual(updated, { hops: 1, maxHops: 4, lan: true, lanActive: false, dataDir: first.dataDir })
  for (const bad of [{ hops: -1 }, { hops: 1.5 }, { hops: 5 }, { hops: '2' }, { lan: 'yes' }, { theme: 'dark' }, null, [1], 'hops=1']) {
    await assert.rejects(first.handlers.updateSettings(bad as never), badArgument, JSON.stringify(bad))
  }
  assert.equal((await first.handlers.settings()).hops, 1, 'a refused change changes nothing')
  await assert.rejects(first.handlers.storage({ limit: 0 }), badArgument)
  await assert.rejects(first.handlers.storage('all' as never), badArgument)
  const { dataDir } = first
  await first.close()
  const second = await startTestApp(t, { dataDir, hops: 2 })
  assert.equal(second.peer.hops, 1, 'the saved choice wins over the start option')
  assert.equal((await second.handlers.settings()).lan, true)
})

test('connections: connect by address, see the peer with its kind, disconnect, remember and forget', { timeout: 30_000 }, async (t) => {
  const me = await startTestApp(t)
  const other = await startTestApp(t)
  const empty = await me.handlers.connections()
  assert.equal(empty.address, me.peer.address)
  assert.deepEqual([empty.connected, empty.known], [[], []])

  await me.handlers.connect(other.peer.address!)
  await connected(me, other.id)
  const view = await me.handlers.connections()
  assert.deepEqual(view.connected.map((peer) => [peer.id, peer.kind, peer.inbound]), [[other.id, 'manual', false]])
  assert.deepEqual(view.known.map((peer) => [peer.id, peer.kind, peer.address]), [[other.id, 'manual', other.peer.address]], 'connecting by hand remembers the peer')

  assert.equal(await me.handlers.disconnect(other.id), 1)
  for await (const status of me.handlers.statusLive()) if (status.peers.length === 0) break
  assert.deepEqual((await me.handlers.connections()).connected, [])

  await me.peer.remember(other.peer.address!, 'pub')
  const known = (await me.handlers.connections()).known
  assert.deepEqual(known.map((peer) => [peer.id, peer.kind, peer.address]), [[other.id, 'pub', other.peer.address]])
  assert.equal(await me.handlers.forgetPeer(other.peer.address!), true)
  assert.equal(await me.handlers.forgetPeer(other.peer.address!), false)
  assert.deepEqual((await me.handlers.connections()).known, [])

  for (const bad of [42, null]) {
    await assert.rejects(me.handlers.disconnect(bad as never), badArgument)
    await assert.rejects(me.handlers.forgetPeer(bad as never), badArgument)
  }
  await assert.rejects(me.handlers.disconnect('not an address'), (err: { code?: string }) => typeof err.code === 'string')
})
