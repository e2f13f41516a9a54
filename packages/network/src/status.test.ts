// Status figures from real peers on 127.0.0.1 as messages flow, the owner-only RPC (status,
// statusStream, conn.*) over the local socket, and the same refused to other peers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import pull, { type Source } from 'pull-stream'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { connectLocal } from './local.ts'
import { StatusTracker, type PeerStatus } from './status.ts'
import { call, connectSsbClient, ssbKeysOf } from './testing/reference.ts'
import { publishPosts, startPeer, tempDir, tempStore, waitForSequence } from './testing/helpers.ts'

/** Reads `source` until `done` accepts an item; resolves with everything read. */
function readUntil<T>(source: Source<T>, done: (item: T) => boolean): Promise<T[]> {
  const items: T[] = []
  return new Promise((resolve, reject) => {
    pull(
      source,
      pull.drain(
        (item: T) => {
          items.push(item)
          return done(item) ? false : undefined
        },
        (end) => (end && end !== true ? reject(end) : resolve(items)),
      ),
    )
  })
}

test('status counts messages and wire bytes per peer, and rates, as messages flow; statusStream shows it live', async (t) => {
  const alice = await startPeer(t)
  const bob = await startPeer(t, { replicate: { feeds: [alice.identity.id], hops: 0 } })
  await bob.peer.connect(alice.peer.address!)
  const before = bob.peer.status()
  assert.equal(before.id, bob.identity.id)
  assert.equal(before.address, bob.peer.address)
  assert.equal(before.replication.wantedFeeds, 2)
  assert.equal(before.peers.length, 1)
  const [link] = before.peers
  assert.equal(link!.id, alice.identity.id)
  assert.equal(link!.kind, 'manual')
  assert.equal(link!.inbound, false)
  assert.equal(link!.messagesReceived, 0)
  assert.ok(link!.bytesIn > 0 && link!.bytesOut > 0, 'the handshake alone is bytes on the wire')
  assert.ok(link!.connectedAt <= Date.now())

  const live = readUntil(bob.peer.statusStream(), (status) => status.replication.messagesReceived >= 30)
  await publishPosts(alice.store, alice.identity, 30, 'alice')
  await waitForSequence(bob.store, alice.identity.id, 30)
  const snapshots = await live
  assert.equal(snapshots[0]!.replication.messagesReceived, 0, 'the stream starts with the status as it was')
  assert.ok(snapshots.length >= 2)

  const after = bob.peer.status()
  const aliceView = alice.peer.status()
  assert.equal(after.peers[0]!.messagesReceived, 30)
  assert.equal(after.replication.messagesReceived, 30)
  assert.ok(after.replication.messagesPerSecond > 0)
  // Thirty signed messages are several kilobytes of ciphertext.
  assert.ok(after.peers[0]!.bytesIn - link!.bytesIn > 30 * 300, `bytes in grew by ${after.peers[0]!.bytesIn - link!.bytesIn}`)
  assert.ok(after.traffic.bytesInPerSecond > 0)
  assert.equal(after.traffic.bytesIn, after.peers[0]!.bytesIn)
  // The same TCP bytes seen from both ends: what bob has read, alice has written.
  assert.ok(after.peers[0]!.bytesIn <= aliceView.peers[0]!.bytesOut)
  assert.equal(aliceView.peers[0]!.kind, 'inbound')
  assert.equal(aliceView.peers[0]!.inbound, true)
  assert.equal(aliceView.replication.messagesReceived, 0, 'alice wanted nothing of bob')
  assert.equal(after.replication.feedsBehind, 0)

  // A closed connection's bytes still count in the totals.
  bob.peer.disconnect(alice.identity.id)
  const closed = bob.peer.status()
  assert.deepEqual(closed.peers, [])
  assert.ok(closed.traffic.bytesIn >= after.traffic.bytesIn)
})

test('claims beyond what we hold show as feeds behind until the messages arrive', async (t) => {
  const store = await tempStore(t)
  const carol = generateIdentity()
  const dave = generateIdentity()
  await publishPosts(store, carol, 3, 'carol')
  let wanted = new Set<FeedId>([carol.id, dave.id])
  const tracker = new StatusTracker<never>({
    id: generateIdentity().id,
    address: () => null,
    connections: () => [],
    kindOf: () => 'manual',
    wantedFeeds: () => wanted,
    rememberedCount: () => 0,
    onChange: () => () => {},
  }, store)
  tracker.start()
  t.after(() => tracker.stop())
  tracker.claim(carol.id, 10)
  tracker.claim(dave.id, 2)
  tracker.claim(carol.id, 7) // an older claim does not lower it
  await store.feedStatus(carol.id) // the tracker's own read of it is answered first
  await store.feedStatus(dave.id)
  const behind = tracker.snapshot().replication
  assert.equal(behind.feedsBehind, 2)
  assert.deepEqual(behind.behind, [{ feed: carol.id, have: 3, claimed: 10 }, { feed: dave.id, have: 0, claimed: 2 }])

  // Carol's feed arrives up to the claim: no longer behind.
  await publishPosts(store, carol, 7, 'more of carol')
  assert.deepEqual(tracker.snapshot().replication.behind, [{ feed: dave.id, have: 0, claimed: 2 }])
  // A feed no longer wanted (say, now blocked) drops out.
  wanted = new Set([carol.id])
  assert.equal(tracker.snapshot().replication.feedsBehind, 0)
})

test('our own key drives status and conn.* over the local socket; other peers may not', async (t) => {
  const dir = await tempDir(t)
  const alice = await startPeer(t, { localSocket: path.join(dir, 'socket') })
  const bob = await startPeer(t)
  const client = await connectLocal(alice.peer.localSocket!)
  t.after(() => client.close())
  assert.equal((client.manifest as { status?: string }).status, 'sync')

  const initial = await client.call<PeerStatus>('status')
  assert.equal(initial.id, alice.identity.id)
  assert.deepEqual(initial.peers, [])

  const peers = client.source<Array<[string, { key: string; state: string; type: string }]>>('conn.peers')
  const seenConnected = readUntil(peers, (entries) => entries.some(([, data]) => data.key === bob.identity.id))
  const remembered = await client.call<{ address: string; kind: string }>('conn.remember', bob.peer.address, { type: 'pub' })
  assert.deepEqual([remembered.address, remembered.kind], [bob.peer.address, 'pub'])
  const dbPeers = await client.call<Array<[string, { key: string; type: string }]>>('conn.dbPeers')
  assert.deepEqual(dbPeers.map(([address, data]) => [address, data.key, data.type]), [[bob.peer.address, bob.identity.id, 'pub']])
  const connected = await client.call<{ id: string }>('conn.connect', bob.peer.address)
  assert.equal(connected.id, bob.identity.id)
  const entries = await seenConnected
  const last = entries.at(-1)!.find(([, data]) => data.key === bob.identity.id)!
  assert.deepEqual([last[0], last[1].state, last[1].type], [bob.peer.address, 'connected', 'pub'])
  assert.equal((await client.call<PeerStatus>('status')).peers[0]!.kind, 'pub')

  // Bad arguments get clear errors and change nothing.
  await assert.rejects(client.call('conn.connect', 'nonsense'), /not a net:HOST:PORT~shs:KEY address/)
  await assert.rejects(client.call('conn.connect', alice.peer.address), /our own address/)
  await assert.rejects(client.call('conn.remember', bob.peer.address, { type: 'carrier-pigeon' }), /type must be one of/)
  await assert.rejects(client.call('conn.disconnect', 42), /takes an address or a feed id/)
  await assert.rejects(client.call('conn.forget', { address: 1 }), /takes a net:HOST:PORT~shs:KEY address/)
  assert.equal(alice.peer.rememberedPeers().length, 1)

  assert.equal(await client.call('conn.disconnect', bob.peer.address), 1)
  assert.equal(await client.call('conn.forget', bob.peer.address), true)
  assert.deepEqual(await client.call('conn.dbPeers'), [])

  // Another key gets none of it.
  const stranger = generateIdentity()
  const port = Number(/:(\d+)~/.exec(alice.peer.address!)![1])
  const ssb = await connectSsbClient(t, ssbKeysOf(stranger), { port, remote: alice.identity.id })
  const asStranger = ssb as unknown as { status(cb: (err: Error | null, value: unknown) => void): void; conn: { connect(address: string, cb: (err: Error | null, value: unknown) => void): void } }
  await assert.rejects(call((cb) => asStranger.status(cb)), { message: /not in list of allowed methods/ })
  await assert.rejects(call((cb) => asStranger.conn.connect(bob.peer.address!, cb)), { message: /not in list of allowed methods/ })
  assert.equal(alice.peer.connections.filter((c) => c.id === bob.identity.id).length, 0, 'the stranger made no connection')
})
