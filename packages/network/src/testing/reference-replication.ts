// The replication round both interop suites play against a real ssb-server@16 — with ssb-ebt
// (ebt.test.ts) and without it (interop.test.ts): first sync, live messages, then a disconnect
// after which ssb-server dials us and we resume from what we hold. Each suite then checks by its
// events that the method it is about was the one used.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import type { FeedId } from '@hearsay/keys'
import { verifyMessage, type MessageValue } from '@hearsay/message'
import type { Store } from '@hearsay/store'
import type { PeerEvent } from '../events.ts'
import { feedKeys, publishPosts, startPeer, waitForEvent, waitForSequence, type Teardown, type TestPeer } from './helpers.ts'
import { call, keysUpTo, startReferencePeer, type ReferencePeer } from './reference.ts'

const require = createRequire(import.meta.url)

/** The keys ssb-validate (the reference validator) computes for `feed` as we hold it; throws if it rejects any. */
export async function ssbValidatedKeys(store: Store, feed: FeedId): Promise<string[]> {
  const validate = require('ssb-validate') as {
    initial(): { queue: Array<{ key: string }> }
    append(state: unknown, hmacKey: null, value: MessageValue): { queue: Array<{ key: string }> }
  }
  let state = validate.initial()
  for await (const message of store.readFeed(feed)) state = validate.append(state, null, message.value)
  return state.queue.map((kvt) => kvt.key)
}

export const byEbt = (peer: FeedId) => (e: PeerEvent) => e.event === 'replicating' && e.peer === peer && e.method === 'ebt'
export const byHistory = (peer: FeedId) => (e: PeerEvent) => e.event === 'replicating' && e.peer === peer && e.method === 'createHistoryStream'

/** What the `replicated` events since event number `from` add up to for `feed`. */
export function replicatedSince(peer: TestPeer, from: number, feed: FeedId): { accepted: number; duplicates: number } {
  let accepted = 0
  let duplicates = 0
  for (const e of peer.events.slice(from)) {
    if (e.event === 'replicated' && e.feed === feed) {
      accepted += e.accepted
      duplicates += e.duplicates
    }
  }
  return { accepted, duplicates }
}

export interface ReferenceRound {
  reference: ReferencePeer
  ours: TestPeer
  /** Our events while we dialed and synced, and after ssb-server dialed us back. */
  dialed: PeerEvent[]
  redialed: PeerEvent[]
}

/**
 * Plays the round and checks what both suites require: every message on both sides under the
 * same ids, ours passing ssb-validate and ours ssb-server's, live messages while connected, and the
 * resume after a disconnect fetching only what is new.
 */
export async function replicateWithReference(t: Teardown, { ebt }: { ebt: boolean }): Promise<ReferenceRound> {
  const reference = await startReferencePeer(t, { ebt })
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
  // What we received passes our validator and ssb-validate again, re-read from the store.
  for await (const message of ours.store.readFeed(reference.id)) assert.equal(verifyMessage(message.value).key, message.key)
  assert.deepEqual(await ssbValidatedKeys(ours.store, reference.id), oursOfTheirs)

  // Live, over the same connection.
  await ours.store.publish(ours.identity, { type: 'post', text: 'live from hearsay' })
  await call((cb) => client.publish({ type: 'post', text: 'live from ssb-server' }, cb))
  const [liveTheirs] = await Promise.all([keysUpTo(client, ours.identity.id, 16), waitForSequence(ours.store, reference.id, 14)])
  assert.deepEqual(liveTheirs, await feedKeys(ours.store, ours.identity.id))
  assert.deepEqual(await feedKeys(ours.store, reference.id), await keysUpTo(client, reference.id, 14))
  const dialed = [...ours.events]

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
  assert.deepEqual(replicatedSince(ours, before, reference.id), { accepted: 2, duplicates: 0 })
  return { reference, ours, dialed, redialed: ours.events.slice(before) }
}
