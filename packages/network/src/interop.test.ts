// Interop with the reference implementation: ssb-server@16 without EBT in a child process
// (createHistoryStream replication; see testing/reference-replication.ts), and ssb-client
// driving a Hearsay peer. Everything on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pull from 'pull-stream'
import { generateIdentity } from '@hearsay/keys'
import { feedKeys, publishPosts, startPeer, waitForEvent } from './testing/helpers.ts'
import { call, connectSsbClient, keysUpTo, ssbKeysOf } from './testing/reference.ts'
import { byEbt, byHistory, replicateWithReference } from './testing/reference-replication.ts'
import { parseAddress } from './address.ts'

test('Hearsay and ssb-server replicate each other by createHistoryStream, live, and resume after a disconnect', async (t) => {
  const { reference, dialed, redialed } = await replicateWithReference(t, { ebt: false })
  // Without ssb-ebt it refused our ebt.replicate, and we fell back (ssb-server dialing us never asks for EBT).
  assert.ok(dialed.some(byHistory(reference.id)), 'fell back to createHistoryStream')
  assert.equal([...dialed, ...redialed].some(byEbt(reference.id)), false)
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
