// Interop with the reference implementation: ssb-server@16 (createHistoryStream replication,
// no EBT) in a child process, and ssb-client driving a Hearsay peer. Everything on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pull from 'pull-stream'
import { generateIdentity } from '@hearsay/keys'
import { verifyMessage } from '@hearsay/message'
import { feedKeys, publishPosts, startPeer, waitForEvent, waitForSequence } from './testing/helpers.ts'
import { call, connectSsbClient, keysUpTo, ssbKeysOf, startReferencePeer } from './testing/reference.ts'
import { parseAddress } from './address.ts'

test('Hearsay and ssb-server replicate each other by createHistoryStream, live, and resume after a disconnect', async (t) => {
  const reference = await startReferencePeer(t)
  const ours = await startPeer(t, { replicate: { feeds: [reference.id], hops: 0 } })
  const { client } = reference

  for (let i = 1; i <= 12; i++) await call((cb) => client.publish({ type: 'post', text: `from ssb-server ${i}` }, cb))
  await publishPosts(ours.store, ours.identity, 15, 'from hearsay')
  // ssb-server replicates whom it follows: its contact message makes ssb-friends request us.
  await call((cb) => client.friends.follow(ours.identity.id, {}, cb))

  const connection = await ours.peer.connect(reference.address)
  assert.equal(connection.id, reference.id)
  const [theirsOfOurs] = await Promise.all([
    keysUpTo(client, ours.identity.id, 15),
    waitForSequence(ours.store, reference.id, 13), // 12 posts and the contact
  ])
  assert.deepEqual(theirsOfOurs, await feedKeys(ours.store, ours.identity.id), 'ssb-server stored our messages under the same ids')
  const oursOfTheirs = await feedKeys(ours.store, reference.id)
  assert.deepEqual(oursOfTheirs, await keysUpTo(client, reference.id, 13), 'we stored theirs under the same ids')
  // Every message we received passed our own validation again, re-read from the store.
  for await (const message of ours.store.readFeed(reference.id)) assert.equal(verifyMessage(message.value).key, message.key)

  // Live, over the same connection.
  await ours.store.publish(ours.identity, { type: 'post', text: 'live from hearsay' })
  await call((cb) => client.publish({ type: 'post', text: 'live from ssb-server' }, cb))
  const [liveTheirs] = await Promise.all([keysUpTo(client, ours.identity.id, 16), waitForSequence(ours.store, reference.id, 14)])
  assert.deepEqual(liveTheirs, await feedKeys(ours.store, ours.identity.id))
  assert.deepEqual(await feedKeys(ours.store, reference.id), await keysUpTo(client, reference.id, 14))

  // Disconnect, publish on both sides, and let ssb-server dial us this time.
  connection.close('test disconnect')
  await waitForEvent(ours, (e) => e.event === 'disconnected' && e.peer === reference.id)
  await publishPosts(ours.store, ours.identity, 3, 'offline hearsay')
  for (let i = 1; i <= 2; i++) await call((cb) => client.publish({ type: 'post', text: `offline ssb-server ${i}` }, cb))
  const before = ours.events.length
  await call((cb) => client.gossip.connect(ours.peer.address!, cb))
  await Promise.all([keysUpTo(client, ours.identity.id, 19), waitForSequence(ours.store, reference.id, 16)])
  assert.deepEqual(await keysUpTo(client, ours.identity.id, 19), await feedKeys(ours.store, ours.identity.id))
  assert.deepEqual(await feedKeys(ours.store, reference.id), await keysUpTo(client, reference.id, 16))
  // Resumed from what we held: nothing we already had came again.
  const resumed = ours.events.slice(before).filter((e) => e.event === 'replicated' && e.feed === reference.id)
  assert.ok(resumed.length > 0)
  assert.equal(resumed.reduce((sum, e) => sum + (e.event === 'replicated' ? e.duplicates : 0), 0), 0)
  assert.equal(resumed.reduce((sum, e) => sum + (e.event === 'replicated' ? e.accepted : 0), 0), 2)
})

test('ssb-client with the peer\'s own key calls whoami, publish and createHistoryStream on Hearsay', async (t) => {
  const ours = await startPeer(t)
  const { port } = parseAddress(ours.peer.address!)
  const client = await connectSsbClient(t, ssbKeysOf(ours.identity), { port, remote: ours.identity.id })

  assert.deepEqual(await call((cb) => client.whoami(cb)), { id: ours.identity.id })
  const published = await call<{ key: string }>((cb) => client.publish({ type: 'post', text: 'via ssb-client' }, cb))
  const stored = await ours.store.get(published.key as `%${string}.sha256`)
  assert.deepEqual(stored?.value.content, { type: 'post', text: 'via ssb-client' })
  await publishPosts(ours.store, ours.identity, 2, 'local')
  const keys = await keysUpTo(client, ours.identity.id, 3)
  assert.deepEqual(keys, await feedKeys(ours.store, ours.identity.id))
  assert.equal(await call((cb) => client.latestSequence(ours.identity.id, cb)), 3)
  const local = await waitForEvent(ours, (e) => e.event === 'connected')
  assert.equal(local.event === 'connected' && local.local, true)

  // The rest of the local surface, shaped as ssb-server's.
  assert.deepEqual(await call((cb) => client.get(published.key, cb)), stored?.value)
  assert.deepEqual(await call((cb) => client.get({ id: published.key, meta: true }, cb)), { key: stored?.key, value: stored?.value, timestamp: stored?.timestamp })
  const friend = generateIdentity().id
  await call((cb) => client.friends.follow(friend, {}, cb))
  assert.equal(await call((cb) => client.friends.isFollowing({ source: ours.identity.id, dest: friend }, cb)), true)
  const secret = await call<{ value: { content: unknown } }>((cb) => client.private.publish({ type: 'post', text: 'just us' }, [ours.identity.id, friend], cb))
  assert.equal(typeof secret.value.content, 'string')
  assert.deepEqual(await call((cb) => client.private.unbox(secret.value.content, cb)), { type: 'post', text: 'just us' })
  const log = await new Promise<Array<{ key: string }>>((resolve, reject) =>
    pull(client.createLogStream({ keys: true }), pull.collect<{ key: string }>((err, items) => (err ? reject(err) : resolve(items)))))
  assert.deepEqual(log.map((m) => m.key), await feedKeys(ours.store, ours.identity.id))
})
