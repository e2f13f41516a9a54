import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pull from 'pull-stream'
import { generateIdentity } from '@hearsay/keys'
import { connectLocal } from './local.ts'
import { Peer } from './peer.ts'
import { feedKeys, publishPosts, startPeer, tempDir, waitForEvent, waitForSequence } from './testing/helpers.ts'

test('two peers replicate each other both ways, then live while connected', async (t) => {
  const alice = await startPeer(t)
  const bob = await startPeer(t)
  await publishPosts(alice.store, alice.identity, 30, 'alice')
  await publishPosts(bob.store, bob.identity, 20, 'bob')
  await alice.peer.stop()
  const alice2 = await startPeer(t, { store: alice.store, identity: alice.identity, replicate: { feeds: [bob.identity.id] } })
  const bob2 = await startPeer(t, { store: bob.store, identity: bob.identity, replicate: { feeds: [alice.identity.id] } })
  await bob.peer.stop()

  await alice2.peer.connect(bob2.peer.address!)
  await Promise.all([
    waitForSequence(alice2.store, bob.identity.id, 20),
    waitForSequence(bob2.store, alice.identity.id, 30),
  ])
  assert.deepEqual(await feedKeys(alice2.store, bob.identity.id), await feedKeys(bob2.store, bob.identity.id))
  assert.deepEqual(await feedKeys(bob2.store, alice.identity.id), await feedKeys(alice2.store, alice.identity.id))

  // Live: published while connected, it arrives without a new connection.
  await alice2.store.publish(alice.identity, { type: 'post', text: 'live from alice' })
  await bob2.store.publish(bob.identity, { type: 'post', text: 'live from bob' })
  await Promise.all([
    waitForSequence(alice2.store, bob.identity.id, 21),
    waitForSequence(bob2.store, alice.identity.id, 31),
  ])
  const connected = await waitForEvent(bob2, (e) => e.event === 'connected')
  assert.equal(connected.event === 'connected' && connected.inbound, true)
})

test('the local socket gives the owner every method without a handshake, and goes away on stop', async (t) => {
  const dir = await tempDir(t)
  const socket = path.join(dir, 'socket')
  await writeFile(socket, 'left over from a crash') // a stale file is replaced
  const ours = await startPeer(t, { localSocket: socket })
  assert.equal(ours.peer.localSocket, socket)
  assert.equal((await stat(socket)).mode & 0o777, 0o600)

  const client = await connectLocal(socket)
  assert.deepEqual(await client.call('whoami'), { id: ours.identity.id })
  const published = await client.call<{ key: string; value: { sequence: number } }>('publish', { type: 'post', text: 'over the socket' })
  assert.equal(published.value.sequence, 1)
  const friend = generateIdentity().id
  await client.call('friends.follow', friend)
  assert.equal(await client.call('friends.isFollowing', { source: ours.identity.id, dest: friend }), true)
  const values = await new Promise<Array<{ sequence: number }>>((resolve, reject) =>
    pull(client.source('createHistoryStream', { id: ours.identity.id, keys: false }), pull.collect<{ sequence: number }>((err, items) => (err ? reject(err) : resolve(items)))))
  assert.deepEqual(values.map((value) => value.sequence), [1, 2])
  const connected = await waitForEvent(ours, (e) => e.event === 'connected')
  assert.equal(connected.event === 'connected' && connected.local, true)

  // Only one peer per socket.
  const second = new Peer({ store: ours.store, identity: ours.identity, localSocket: socket, listen: false })
  await assert.rejects(second.start(), /already running/)
  await second.stop()

  await client.close()
  await ours.peer.stop()
  await assert.rejects(stat(socket), { code: 'ENOENT' })
  await assert.rejects(connectLocal(socket), { code: 'ENOENT' })
})

test('blocked feeds are never replicated, and a blocked peer cannot connect', async (t) => {
  const carol = generateIdentity()
  const alice = await startPeer(t, { replicate: { hops: 0 } })
  await publishPosts(alice.store, alice.identity, 2, 'alice')
  const carolsFeed = await startPeer(t, { identity: carol, replicate: { hops: 0 } })
  await publishPosts(carolsFeed.store, carol, 3, 'carol')
  // Alice holds carol's feed too.
  const aliceWants = await startPeer(t, { store: alice.store, identity: alice.identity, listen: false, replicate: { feeds: [carol.id], hops: 0 } })
  await aliceWants.peer.connect(carolsFeed.peer.address!)
  await waitForSequence(alice.store, carol.id, 3)
  await aliceWants.peer.stop()

  const bob = await startPeer(t, { replicate: { feeds: [alice.identity.id, carol.id], hops: 1 } })
  await bob.store.publish(bob.identity, { type: 'contact', contact: carol.id, blocking: true })
  await waitForEvent(bob, (e) => e.event === 'wanted' && !bob.peer.wantedFeeds.has(carol.id))
  assert.deepEqual([...bob.peer.wantedFeeds].sort(), [alice.identity.id, bob.identity.id].sort())
  await bob.peer.connect(alice.peer.address!)
  await waitForSequence(bob.store, alice.identity.id, 2)
  assert.equal(await bob.store.feedStatus(carol.id), null, 'nothing of the blocked feed')

  // Carol, blocked by bob, is refused at the handshake.
  await assert.rejects(carolsFeed.peer.connect(bob.peer.address!))
  await waitForEvent(bob, (e) => e.event === 'handshake-failed')
})

test('the wanted feeds follow the contact messages that shape the follow graph, up to the hops limit', { timeout: 20_000 }, async (t) => {
  const [bob, carol, dave, erin] = Array.from({ length: 4 }, () => generateIdentity())
  const alice = await startPeer(t, { replicate: { hops: 2 } })
  const wants = () => [...alice.peer.wantedFeeds].sort()
  const contact = (from: typeof bob, to: typeof bob, edge: { following?: boolean; blocking?: boolean }) =>
    alice.store.publish(from!, { type: 'contact', contact: to!.id, ...edge })
  const settled = async (expected: string[]) => {
    await waitForEvent(alice, (e) => e.event === 'wanted' && wants().join() === [...expected].sort().join())
    assert.deepEqual(wants(), [...expected].sort())
  }

  await contact(alice.identity, bob, { following: true }) // ours: bob at 1
  await settled([alice.identity.id, bob!.id])
  await contact(bob, carol, { following: true }) // bob's, at 1 < 2: carol at 2
  await settled([alice.identity.id, bob!.id, carol!.id])
  // Carol is at the limit: whom she follows stays out, and so does everything after it.
  await contact(carol, dave, { following: true })
  await contact(alice.identity, erin, { following: true }) // ours again: erin at 1
  await settled([alice.identity.id, bob!.id, carol!.id, erin!.id])
  assert.equal(alice.peer.wantedFeeds.has(dave!.id), false, 'beyond the hops limit')
  await contact(alice.identity, carol, { blocking: true }) // ours: carol out, and not walked through
  await settled([alice.identity.id, bob!.id, erin!.id])
})
