// EBT replication (ebt.replicate, version 3, classic feeds): with the reference ssb-server@16
// running ssb-ebt, between two Hearsay peers, falling back to createHistoryStream with a peer
// that has no EBT, and against hostile EBT peers. Everything on 127.0.0.1. Each test checks the
// `replicating` events, so none can pass through the createHistoryStream fallback unnoticed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import createMuxrpc from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import { generateIdentity, toSignatureString, type FeedId } from '@hearsay/keys'
import { createValidationPool, messageIdOf } from '@hearsay/message'
import { reclaimFeeds, type Store } from '@hearsay/store'
import { MANIFEST } from './manifest.ts'
import { pushable } from './pull.ts'
import { Transport } from './transport.ts'
import { holdable } from './replication.ts'
import { CLOCK_STATE, EBT_REQUEST, REMEMBERED_CLOCKS, UNWANTED_NOTES_PER_PEER } from './ebt.ts'
import { chain } from './testing/feeds.ts'
import { defer, feedKeys, publishPosts, recordingVerifier, startPeer, tempStore, waitForEvent, waitForSequence, type Teardown } from './testing/helpers.ts'
import { call, keysUpTo, startReferencePeer, type SsbClient } from './testing/reference.ts'
import { byEbt, byHistory, replicatedSince, replicateWithReference, ssbValidatedKeys } from './testing/reference-replication.ts'

/** An EBT note: "I have up to `sequence`, and want to receive" (`seq << 1`, receive bit clear). */
const note = (sequence: number) => sequence << 1

test('Hearsay and ssb-server with ssb-ebt replicate each other by EBT, live, and resume after a disconnect', async (t) => {
  const { reference, ours, dialed, redialed } = await replicateWithReference(t, { ebt: true })
  // We dialed, so we called ebt.replicate, as ssb-ebt's client side does; then ssb-server dialed us and called ours.
  assert.ok(dialed.some(byEbt(reference.id)), 'replicated by EBT')
  assert.ok(redialed.some(byEbt(reference.id)), 'ssb-server asked for EBT when it dialed')
  assert.equal([...dialed, ...redialed].some(byHistory(reference.id)), false, 'no fallback to createHistoryStream')
  // ssb-ebt on the other side sees us as an EBT peer of our feed.
  const status = await call<{ peers: Record<string, { seq?: number }> }>((cb) =>
    (reference.client as SsbClient & { ebt: { peerStatus(id: FeedId, cb: (err: Error | null, value: unknown) => void): void } }).ebt.peerStatus(ours.identity.id, cb as never))
  assert.ok(status.peers[ours.identity.id], 'ssb-ebt lists our connection among its EBT peers')
})

test('two Hearsay peers replicate by EBT: blocked feeds are neither requested nor served to whom they block', async (t) => {
  const carol = generateIdentity() // blocks bob: alice must not give bob carol's feed
  const dave = generateIdentity()
  const mallory = generateIdentity() // blocked by bob: bob must not ask for it
  const alice = await startPeer(t, { replicate: { feeds: [carol.id, dave.id, mallory.id], hops: 0 } })
  const bob = await startPeer(t, { replicate: { feeds: [alice.identity.id, carol.id, dave.id, mallory.id], hops: 0 } })
  await publishPosts(alice.store, alice.identity, 20, 'alice')
  await publishPosts(alice.store, carol, 3, 'carol')
  await alice.store.publish(carol, { type: 'contact', contact: bob.identity.id, blocking: true })
  await publishPosts(alice.store, dave, 2, 'dave')
  await publishPosts(alice.store, mallory, 2, 'mallory')
  await bob.store.publish(bob.identity, { type: 'contact', contact: mallory.id, blocking: true })
  await bob.peer.refreshWanted()
  assert.equal(bob.peer.wantedFeeds.has(mallory.id), false)
  await publishPosts(bob.store, bob.identity, 5, 'bob')

  const connection = await bob.peer.connect(alice.peer.address!)
  await Promise.all([waitForSequence(bob.store, alice.identity.id, 20), waitForSequence(bob.store, dave.id, 2)])
  assert.ok(bob.events.some(byEbt(alice.identity.id)), 'bob replicated by EBT (its ebt.replicate was answered)')
  assert.ok(alice.events.some(byEbt(bob.identity.id)), 'alice served bob by EBT')
  assert.equal([...bob.events, ...alice.events].some((e) => e.event === 'replicating' && e.method === 'createHistoryStream'), false)
  assert.deepEqual(await feedKeys(bob.store, alice.identity.id), await feedKeys(alice.store, alice.identity.id))
  assert.deepEqual(await ssbValidatedKeys(bob.store, dave.id), await feedKeys(alice.store, dave.id))

  // Live while connected; by the time these arrive, anything else on offer would have too.
  await alice.store.publish(alice.identity, { type: 'post', text: 'live from alice' })
  await alice.store.publish(dave, { type: 'post', text: 'live from dave' })
  await Promise.all([waitForSequence(bob.store, alice.identity.id, 21), waitForSequence(bob.store, dave.id, 3)])
  assert.equal(await bob.store.feedStatus(carol.id), null, 'carol blocks bob: alice never sent bob her feed')
  assert.equal(await bob.store.feedStatus(mallory.id), null, 'bob blocks mallory: he never asked for it')

  // Disconnect; alice writes on; a new connection resumes where the last one stopped.
  connection.close('test disconnect')
  await waitForEvent(bob, (e) => e.event === 'disconnected' && e.peer === alice.identity.id)
  await publishPosts(alice.store, alice.identity, 2, 'alice offline')
  const before = bob.events.length
  await bob.peer.connect(alice.peer.address!)
  await waitForEvent(bob, (e) => e.event === 'replicated' && e.feed === alice.identity.id && e.sequence === 23)
  assert.deepEqual(replicatedSince(bob, before, alice.identity.id), { accepted: 2, duplicates: 0 })
  assert.ok(bob.events.slice(before).some(byEbt(alice.identity.id)))
})

test('with ssb-server without ssb-ebt, ebt.replicate fails and replication falls back to createHistoryStream', async (t) => {
  const reference = await startReferencePeer(t)
  const ours = await startPeer(t, { replicate: { feeds: [reference.id], hops: 0 } })
  const { client } = reference
  for (let i = 1; i <= 3; i++) await call((cb) => client.publish({ type: 'post', text: `from ssb-server ${i}` }, cb))
  await publishPosts(ours.store, ours.identity, 4, 'from hearsay')
  await call((cb) => client.friends.follow(ours.identity.id, {}, cb))

  await ours.peer.connect(reference.address)
  const fallback = await waitForEvent(ours, byHistory(reference.id))
  assert.ok(fallback.event === 'replicating' && fallback.reason, 'the fallback says why: ssb-server refused ebt.replicate')
  await Promise.all([keysUpTo(client, ours.identity.id, 4), waitForSequence(ours.store, reference.id, 4)])
  assert.deepEqual(await feedKeys(ours.store, reference.id), await keysUpTo(client, reference.id, 4))
  assert.deepEqual(await keysUpTo(client, ours.identity.id, 4), await feedKeys(ours.store, ours.identity.id))
  assert.equal(ours.events.some(byEbt(reference.id)), false, 'it never spoke EBT')
})

/**
 * An EBT server in a few lines of raw muxrpc, to play peers Hearsay's code would never be: it
 * sends `first` (its vector clock, or garbage), then, once our notes ask for `feed`, `messages`
 * whatever they are; and keeps the stream open. Records what we sent it; `notes` is our first
 * vector clock.
 */
async function ebtServingPeer(t: Teardown, feed: FeedId, first: unknown, messages: readonly unknown[], identity = generateIdentity()): Promise<{ address: string; id: FeedId; received: unknown[]; notes: Promise<Record<string, number>> }> {
  const transport = new Transport({ identity, host: '127.0.0.1' })
  defer(t, () => transport.close())
  const received: unknown[] = []
  let gotNotes!: (notes: Record<string, number>) => void
  const notes = new Promise<Record<string, number>>((resolve) => (gotNotes = resolve))
  const address = await transport.listen((connection) => {
    const api = {
      manifest: () => MANIFEST,
      ebt: {
        replicate: () => {
          const out = pushable<unknown>()
          out.push(first)
          let sent = false
          return {
            source: out.source,
            sink: (read: Source<unknown>) => pull(read, pull.drain((data: unknown) => {
              received.push(data)
              if (data !== null && typeof data === 'object' && !('author' in data)) gotNotes(data as Record<string, number>)
              if (!sent && data !== null && typeof data === 'object' && feed in data) {
                sent = true
                for (const message of messages) out.push(message)
              }
            }, () => {})),
          }
        },
      },
    }
    const rpc = createMuxrpc(MANIFEST, MANIFEST, api, null)
    pull(connection.stream, rpc.stream, connection.stream)
  }, () => {})
  return { address, id: identity.id, received, notes }
}

test('a hostile EBT peer sending an invalid signature, a wrong sequence, a fork or garbage is cut off; the valid messages stay', async (t) => {
  const carol = generateIdentity()
  const dave = generateIdentity()
  const good = chain(carol, 6, { text: 'carol' })
  const forged = { ...good[3]!, signature: toSignatureString(randomBytes(64)) }
  const skipped = chain(carol, 8, { text: 'carol' })[7]! // validly signed, but sequence 8 right after 3
  // dave signs two different third messages; the hostile peer sends 1-3, then the fourth of the other branch.
  const daves = chain(dave, 3, { text: 'dave' })
  const otherBranch = chain(dave, 2, { text: 'dave, other branch', after: daves.slice(0, 2) })
  const cases: Array<[string, FeedId, unknown, unknown[], RegExp]> = [
    ['invalid signature', carol.id, { [carol.id]: note(6) }, [...good.slice(0, 3), forged, good[4]], /signature/i],
    ['wrong sequence', carol.id, { [carol.id]: note(8) }, [...good.slice(0, 3), skipped], /sequence/i],
    ['fork', dave.id, { [dave.id]: note(4) }, [...daves, otherBranch[3]], /fork/i],
    ['garbage instead of a vector clock', carol.id, 'not a clock', [], /EBT protocol/],
  ]
  const us = await startPeer(t, { replicate: { feeds: [carol.id, dave.id], hops: 0 } })
  for (const [name, feed, first, messages, reason] of cases) {
    const hostile = await ebtServingPeer(t, feed, first, messages)
    const held = (await us.store.feedStatus(feed))?.sequence ?? 0
    const before = us.events.length
    await us.peer.connect(hostile.address)
    const cut = await waitForEvent(us, (e) => e.event === 'cut-off' && e.peer === hostile.id && us.events.indexOf(e) >= before)
    assert.match(cut.event === 'cut-off' ? cut.reason : '', reason, name)
    await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === hostile.id && us.events.indexOf(e) >= before)
    if (messages.length > 0) {
      assert.ok(us.events.slice(before).some(byEbt(hostile.id)), `${name}: this came by EBT`)
      // Our notes asked for the feed from after what we held.
      const asked = hostile.received.find((data) => data !== null && typeof data === 'object' && feed in data) as Record<string, number>
      assert.equal(asked[feed], note(held), `${name}: asked for ${feed} from ${held}`)
    }
    assert.equal((await us.store.feedStatus(feed))?.sequence, 3, `${name}: the three valid messages are kept, nothing after`)
  }
  const fork = us.events.find((e) => e.event === 'fork')
  assert.ok(fork && fork.event === 'fork' && fork.feed === dave.id && fork.sequence === 3)
  assert.ok((await us.store.feedStatus(dave.id))?.forked, 'the store marked dave forked')

  // An honest Hearsay peer then completes carol's feed, by EBT.
  const honest = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  await honest.store.append(carol.id, good)
  await us.peer.connect(honest.peer.address!)
  await waitForSequence(us.store, carol.id, 6)
  assert.deepEqual(await feedKeys(us.store, carol.id), await feedKeys(honest.store, carol.id))
  assert.ok(us.events.some(byEbt(honest.identity.id)))
})

test('EBT rounds are checked on the verifier threads; a forged signature deep in one still gets the peer cut off, the valid messages before stay', async (t) => {
  const { verifier, asked: askedToCheck } = recordingVerifier(t)
  const carol = generateIdentity()
  const good = chain(carol, 300, { text: 'carol' })
  const forged = { ...good[199]!, signature: toSignatureString(randomBytes(64)) }
  const us = await startPeer(t, { verifier, replicate: { feeds: [carol.id], hops: 0 } })
  const hostile = await ebtServingPeer(t, carol.id, { [carol.id]: note(300) }, [...good.slice(0, 199), forged, ...good.slice(200)])
  await us.peer.connect(hostile.address)
  const cut = await waitForEvent(us, (e) => e.event === 'cut-off' && e.peer === hostile.id)
  assert.match(cut.event === 'cut-off' ? cut.reason : '', /signature/i)
  await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === hostile.id)
  assert.ok(us.events.some(byEbt(hostile.id)), 'this came by EBT')
  assert.ok(askedToCheck.some((count) => count >= 64), `the verifier checked a round (it was asked for ${askedToCheck.join(', ') || 'nothing'})`)
  assert.equal((await us.store.feedStatus(carol.id))?.sequence, 199, 'the 199 valid messages before the forged one are kept, nothing after')

  const honest = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  await honest.store.append(carol.id, good)
  await us.peer.connect(honest.peer.address!)
  await waitForSequence(us.store, carol.id, 300)
  assert.deepEqual(await feedKeys(us.store, carol.id), good.map((value) => messageIdOf(value)), 'then an honest peer completes the feed, exactly')
})

test('a verifier that fails is reported once and left alone for a while; the store checks the signatures meanwhile', async (t) => {
  const broken = createValidationPool({ threads: 1 })
  await broken.close() // a pool whose threads are gone: every batch is refused
  const { verifier, asked } = recordingVerifier(t, broken)
  const carol = generateIdentity()
  // More than one round (APPEND_ROUND), so a verifier asked again would show.
  const good = chain(carol, 2500, { text: 'carol' })
  const us = await startPeer(t, { verifier, replicate: { feeds: [carol.id], hops: 0 } })
  const honest = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  await honest.store.append(carol.id, good)
  await us.peer.connect(honest.peer.address!)
  await waitForSequence(us.store, carol.id, 2500)
  assert.deepEqual(await feedKeys(us.store, carol.id), good.map((value) => messageIdOf(value)))
  const reports = us.events.filter((e) => e.event === 'error' && /checks them for a while: the validation pool is closed/.test(e.reason))
  assert.equal(reports.length, 1, 'said once')
  assert.equal(asked.length, 1, 'not asked again within the retry time')
  assert.deepEqual(us.events.filter((e) => e.event === 'cut-off'), [], 'the honest peer is not blamed')
})

test('a reconnecting EBT peer is only asked about the feeds that changed since its last clock', async (t) => {
  const carol = generateIdentity()
  const dave = generateIdentity()
  const us = await startPeer(t, { replicate: { feeds: [carol.id, dave.id], hops: 0 } })
  const carols = chain(carol, 4, { text: 'carol' })
  await us.store.append(carol.id, carols.slice(0, 3))
  await us.store.append(dave.id, chain(dave, 2, { text: 'dave' }))
  const server = generateIdentity() // the same peer both times

  // First meeting: it says it has what we have; we tell it where we are on both feeds.
  const first = await ebtServingPeer(t, carol.id, { [carol.id]: note(3), [dave.id]: note(2) }, [], server)
  const connection = await us.peer.connect(first.address)
  const firstNotes = await first.notes
  assert.deepEqual(Object.keys(firstNotes).sort(), [carol.id, dave.id].sort())
  connection.close('test disconnect')
  await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === server.id)

  // Carol moved on meanwhile, dave did not: the next notes mention carol only.
  await us.store.append(carol.id, carols.slice(3))
  const second = await ebtServingPeer(t, carol.id, {}, [], server)
  await us.peer.connect(second.address)
  assert.deepEqual(await second.notes, { [carol.id]: note(4) }, 'carol from 4 on; dave not mentioned')
})

test('a peer restarted on its store asks a peer it met before only about the feeds that changed; a damaged saved clock is reported and left out', async (t) => {
  const carol = generateIdentity()
  const dave = generateIdentity()
  const replicate = { feeds: [carol.id, dave.id], hops: 0 }
  const first = await startPeer(t, { replicate })
  const carols = chain(carol, 4, { text: 'carol' })
  await first.store.append(carol.id, carols.slice(0, 3))
  await first.store.append(dave.id, chain(dave, 2, { text: 'dave' }))
  const server = generateIdentity()
  const met = await ebtServingPeer(t, carol.id, { [carol.id]: note(3), [dave.id]: note(2) }, [], server)
  await first.peer.connect(met.address)
  assert.deepEqual(Object.keys(await met.notes).sort(), [carol.id, dave.id].sort())
  // Stopped while still connected: ending the session saves the clock before the peer is stopped.
  await first.peer.stop()

  await first.store.append(carol.id, carols.slice(3))
  const restarted = await startPeer(t, { store: first.store, identity: first.identity, replicate })
  const again = await ebtServingPeer(t, carol.id, {}, [], server)
  await restarted.peer.connect(again.address)
  assert.deepEqual(await again.notes, { [carol.id]: note(4) }, 'carol from 4 on; dave not mentioned')
  await restarted.peer.stop()

  // A stranger is asked about every feed, as before.
  const third = await startPeer(t, { store: first.store, identity: first.identity, replicate })
  const stranger = await ebtServingPeer(t, carol.id, {}, [])
  await third.peer.connect(stranger.address)
  assert.deepEqual(Object.keys(await stranger.notes).sort(), [carol.id, dave.id].sort())
  await third.peer.stop()

  // Damaged on disk: left out and said so, and replication goes on as with a stranger.
  await first.store.localState<unknown>(CLOCK_STATE).put(server.id, 'not a clock')
  const fourth = await startPeer(t, { store: first.store, identity: first.identity, replicate })
  const afterDamage = await ebtServingPeer(t, carol.id, {}, [], server)
  await fourth.peer.connect(afterDamage.address)
  assert.deepEqual(Object.keys(await afterDamage.notes).sort(), [carol.id, dave.id].sort())
  const reported = await waitForEvent(fourth, (e) => e.event === 'error' && e.peer === server.id)
  assert.match(reported.event === 'error' ? reported.reason : '', /left out the EBT clock saved/)
})

test('saved clocks are bounded: the least recently seen peers are forgotten first', { timeout: 60_000 }, async (t) => {
  const carol = generateIdentity()
  const us = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  const state = us.store.localState<unknown>(CLOCK_STATE)
  const servers = Array.from({ length: 3 }, () => generateIdentity())
  for (const server of servers) {
    const met = await ebtServingPeer(t, carol.id, { [carol.id]: note(0) }, [], server)
    const connection = await us.peer.connect(met.address)
    await met.notes
    connection.close('test disconnect')
    await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === server.id)
  }
  await us.peer.stop()
  for (const server of servers) assert.deepEqual(await state.get(server.id), { [carol.id]: note(0) }, 'each peer met has its clock saved')
  // Filling the order up to the bound with peers seen earlier forgets exactly as many of the oldest.
  const order = us.store.localState<string[]>('ebt-clock-order')
  const older = Array.from({ length: REMEMBERED_CLOCKS }, (_, i) => `@${Buffer.alloc(32, i % 256).toString('base64').slice(0, 40)}${String(i).padStart(3, '0')}=.ed25519`)
  for (const peer of older.slice(0, 5)) await state.put(peer, {})
  await order.put('peers', [...older, ...servers.map((server) => server.id)].slice(-REMEMBERED_CLOCKS - 2))
  const next = await startPeer(t, { store: us.store, identity: us.identity, replicate: { feeds: [carol.id], hops: 0 } })
  const newcomer = await ebtServingPeer(t, carol.id, { [carol.id]: note(0) }, [])
  const connection = await next.peer.connect(newcomer.address)
  await newcomer.notes
  connection.close('test disconnect')
  await waitForEvent(next, (e) => e.event === 'disconnected' && e.peer === newcomer.id)
  await next.peer.stop()
  const kept = (await order.get('peers'))!
  assert.equal(kept.length, REMEMBERED_CLOCKS)
  assert.equal(kept.at(-1), newcomer.id, 'the newest is last')
  const forgotten = [...older, ...servers.map((server) => server.id)].slice(-REMEMBERED_CLOCKS - 2).slice(0, 3)
  for (const peer of forgotten) {
    assert.ok(!kept.includes(peer))
    assert.equal(await state.get(peer), undefined, `${peer} forgotten`)
  }
  assert.deepEqual(await state.get(servers[2]!.id), { [carol.id]: note(0) }, 'a recent one is kept')
})

test('notes about feeds we do not replicate are kept and answered only up to a bound per peer', async (t) => {
  const carol = generateIdentity()
  const us = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  const madeUp = Object.fromEntries(Array.from({ length: 2 * UNWANTED_NOTES_PER_PEER }, () => [`@${randomBytes(32).toString('base64')}.ed25519`, note(5)]))
  const hostile = await ebtServingPeer(t, carol.id, { ...madeUp, [carol.id]: note(2) }, chain(carol, 2, { text: 'carol' }))
  await us.peer.connect(hostile.address)
  await waitForSequence(us.store, carol.id, 2)
  // EBT answers each feed we do not replicate with -1, once: as many as it kept.
  const named = new Set(hostile.received.filter((data) => data !== null && typeof data === 'object' && !('author' in data)).flatMap((data) => Object.keys(data as object)))
  assert.ok(named.has(carol.id))
  assert.equal(named.size - 1, UNWANTED_NOTES_PER_PEER, 'answered about the first made-up feeds only')
})

test('a feed followed while connected is fetched at once, though its holder spoke of it before we wanted it', async (t) => {
  const bob = await startPeer(t)
  await publishPosts(bob.store, bob.identity, 2, 'bob')
  const alice = await startPeer(t, { replicate: { hops: 1 } })
  await alice.peer.connect(bob.peer.address!)
  // Bob's first notes named his feed, which alice did not want yet.
  await waitForEvent(alice, (e) => e.event === 'replicating' && e.peer === bob.identity.id)
  await alice.store.publish(alice.identity, { type: 'contact', contact: bob.identity.id, following: true })
  await waitForSequence(alice.store, bob.identity.id, 2)
  assert.ok(alice.events.some(byEbt(bob.identity.id)), 'by EBT, on the connection already open')
})

test('messages of a feed we reclaimed are set aside without blaming the peer that sent them', { timeout: 30_000 }, async (t) => {
  const carol = generateIdentity()
  const dave = generateIdentity()
  // Dave is wanted a moment longer than he is held: unblocked, his reclaimed messages are
  // released just after a follow may already have asked for them.
  const us = await startPeer(t, { replicate: { feeds: [carol.id, dave.id], hops: 0 } })
  const daves = chain(dave, 2, { text: 'dave' })
  await us.store.append(dave.id, daves.slice(0, 1))
  await reclaimFeeds(us.store, [dave.id])
  const sender = await ebtServingPeer(t, carol.id, { [carol.id]: note(2), [dave.id]: note(2) }, [...daves, ...chain(carol, 2, { text: 'carol' })])
  await us.peer.connect(sender.address)
  await waitForSequence(us.store, carol.id, 2)
  assert.equal(await us.store.feedStatus(dave.id), null, 'nothing of dave was stored')
  assert.deepEqual(us.events.filter((e) => e.event === 'cut-off'), [])
  assert.ok(us.peer.connections.some((connection) => connection.id === sender.id), 'still connected')
})

test('holdable: a held read waits until released, and an abort answers it', async () => {
  const gate = holdable(pull.values([1, 2, 3]))
  const read = () => new Promise<[unknown, unknown]>((resolve) => gate.source(null, (end, data) => resolve([end, data])))
  assert.deepEqual(await read(), [null, 1])
  gate.hold(true)
  let answered = false
  const held = read().then((result) => {
    answered = true
    return result
  })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(answered, false, 'no answer while held')
  gate.hold(false)
  assert.deepEqual(await held, [null, 2])
  gate.hold(true)
  const parked = read()
  const aborted = new Promise<unknown>((resolve) => gate.source(true, (end) => resolve(end)))
  assert.deepEqual(await parked, [true, undefined])
  assert.equal(await aborted, true)
})

/** `store`, counting the messages of `feed` read out of it. */
function countingReads(store: Store, feed: FeedId): { store: Store; read(): number } {
  let count = 0
  const readFeed: Store['readFeed'] = async function* (id, options) {
    for await (const message of store.readFeed(id, options)) {
      if (id === feed) count++
      yield message
    }
  }
  const counting = new Proxy(store, {
    get(target, property) {
      if (property === 'readFeed') return readFeed
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { store: counting, read: () => count }
}

test('EBT sending pauses while the peer does not read, and picks up when it does', async (t) => {
  const author = generateIdentity()
  const total = 6000
  const text = 'x'.repeat(4000) // 24 MB in all: more than the socket buffers and the send window hold
  const counted = countingReads(await tempStore(t), author.id)
  const ours = await startPeer(t, { store: counted.store, replicate: { feeds: [author.id], hops: 0 } })
  for (let i = 1; i <= total; i++) await ours.store.publish(author, { type: 'post', text: `${i} ${text}` })

  // A reader that asks for the whole feed, then stops reading its socket.
  const client = new Transport({ identity: generateIdentity() })
  defer(t, () => client.close())
  const connection = await client.connect(ours.peer.address!)
  const reading = holdable(connection.stream.source)
  const wire = { source: reading.source, sink: connection.stream.sink }
  const rpc = createMuxrpc(MANIFEST, MANIFEST, {}, null)
  pull(wire, rpc.stream, wire)
  defer(t, () => rpc.close(true, () => {}))
  const notes = pushable<unknown>()
  let received = 0
  let allReceived!: () => void
  const done = new Promise<void>((resolve) => (allReceived = resolve))
  const duplex = (rpc.ebt as { replicate(options: object, cb: (err: Error | null) => void): { source: Source<unknown>; sink: (read: Source<unknown>) => void } })
    .replicate(EBT_REQUEST, () => {})
  pull(duplex.source, pull.drain((data: unknown) => {
    if (data !== null && typeof data === 'object' && (data as { author?: unknown }).author === author.id) {
      if (++received === total) allReceived()
      return
    }
    if (received === 0 && data !== null && typeof data === 'object' && author.id in data) {
      notes.push({ [author.id]: 0 }) // we have none, send them all
      reading.hold(true)
    }
  }, () => {}))
  pull(notes.source, duplex.sink)

  // Wait until the sender stops reading its store: it must stop well before the end of the feed.
  let last = -1
  let still = 0
  while (still < 5) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = counted.read()
    still = now === last && now > 0 ? still + 1 : 0
    last = now
  }
  assert.ok(last < total / 2, `sending paused after reading ${last} of ${total} messages`)

  reading.hold(false)
  await done
  assert.equal(received, total)
  assert.ok(ours.events.some(byEbt(client.id)))
})
