// The connection manager driving real Peers on 127.0.0.1: bounds, backoff, duplicate
// connections, our own address, and peers remembered in the store across restarts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatNetShsAddress, generateIdentity, type FeedId } from '@hearsay/keys'
import { openStore } from '@hearsay/store'
import type { PeerEvent } from './events.ts'
import { freePort } from './transport.ts'
import { Peer } from './peer.ts'
import { ConnectionManager } from './connections.ts'
import { defer, startPeer, tempDir, waitForEvent, waitForSequence, type TestPeer } from './testing/helpers.ts'

/** Resolves once `check` holds, re-checking after every event of any of `peers`. */
function until(peers: readonly TestPeer[], check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve()
  return new Promise((resolve) => {
    const listener = () => {
      if (!check()) return
      for (const { peer } of peers) peer.off('event', listener)
      resolve()
    }
    for (const { peer } of peers) peer.on('event', listener)
  })
}

function linksTo(peer: Peer, remote: FeedId) {
  return peer.connections.filter((connection) => connection.id === remote)
}

test('two peers dialing each other at once keep one connection, the same on both sides', async (t) => {
  let deduplicated = 0
  for (let round = 0; round < 4; round++) {
    const alice = await startPeer(t, { replicate: { hops: 1 } })
    const bob = await startPeer(t, { replicate: { hops: 1 } })
    await alice.store.publish(alice.identity, { type: 'contact', contact: bob.identity.id, following: true })
    await bob.store.publish(bob.identity, { type: 'contact', contact: alice.identity.id, following: true })
    const [fromAlice, fromBob] = await Promise.all([alice.peer.connect(bob.peer.address!), bob.peer.connect(alice.peer.address!)])
    assert.equal(fromAlice.id, bob.identity.id)
    assert.equal(fromBob.id, alice.identity.id)
    await until([alice, bob], () => linksTo(alice.peer, bob.identity.id).length === 1 && linksTo(bob.peer, alice.identity.id).length === 1)
    // Both kept the connection the smaller id dialed.
    const dialer = alice.identity.id < bob.identity.id ? alice : bob
    const [aliceSide] = linksTo(alice.peer, bob.identity.id)
    const [bobSide] = linksTo(bob.peer, alice.identity.id)
    assert.equal(aliceSide!.inbound, dialer === bob, `round ${round}: alice's side`)
    assert.equal(bobSide!.inbound, dialer === alice, `round ${round}: bob's side`)
    // And it works: a message published now arrives over it.
    await alice.store.publish(alice.identity, { type: 'post', text: `round ${round}` })
    await waitForSequence(bob.store, alice.identity.id, 2)
    assert.equal(linksTo(alice.peer, bob.identity.id).length, 1)
    deduplicated += [...alice.events, ...bob.events].filter((e) => e.event === 'duplicate' || (e.event === 'disconnected' && /replaced/.test(e.reason ?? ''))).length
    await Promise.all([alice.peer.stop(), bob.peer.stop()])
  }
  assert.ok(deduplicated > 0, 'simultaneous dials made duplicate connections that were settled')
})

test('connecting twice to one peer gives one connection; our own address is never dialed', async (t) => {
  const alice = await startPeer(t)
  const bob = await startPeer(t)
  const [first, second] = await Promise.all([alice.peer.connect(bob.peer.address!), alice.peer.connect(bob.peer.address!)])
  assert.equal(first, second)
  assert.equal(await alice.peer.connect(bob.peer.address!), first, 'connected already: the same connection')
  assert.equal(linksTo(alice.peer, bob.identity.id).length, 1)

  await assert.rejects(alice.peer.connect(alice.peer.address!), /our own address/)
  const ownElsewhere = formatNetShsAddress('127.0.0.1', await freePort('127.0.0.1'), alice.identity.id)
  await assert.rejects(alice.peer.connect(ownElsewhere), /our own address/)
  await assert.rejects(alice.peer.remember(ownElsewhere), /our own address/)
  await assert.rejects(alice.peer.connect('net:127.0.0.1:1'), /not a net:HOST:PORT~shs:KEY address/)
  await assert.rejects(alice.peer.remember(bob.peer.address!, 'carrier-pigeon' as 'pub'), /kind is one of/)
  assert.deepEqual(alice.peer.rememberedPeers(), [])
  assert.equal(alice.events.filter((e) => e.event === 'connect-failed').length, 0, 'nothing was dialed')
})

test('a peer at its bound refuses more, and dials a remembered peer when a place frees up', async (t) => {
  const hub = await startPeer(t, { connections: { max: 2 } })
  const callers = [await startPeer(t), await startPeer(t), await startPeer(t)]
  await callers[0]!.peer.connect(hub.peer.address!)
  await callers[1]!.peer.connect(hub.peer.address!)
  await assert.rejects(callers[2]!.peer.connect(hub.peer.address!))
  await waitForEvent(hub, (e) => e.event === 'handshake-failed')
  assert.equal(hub.peer.connections.length, 2)
  // One already connected may connect again (it replaces nothing: it is the same connection).
  assert.equal(await callers[0]!.peer.connect(hub.peer.address!), linksTo(callers[0]!.peer, hub.identity.id)[0])

  // The scheduler fills the bound and no more: one of two remembered peers.
  const x = await startPeer(t)
  const y = await startPeer(t)
  const picky = await startPeer(t, { connections: { max: 1, minBackoff: 20 }, peers: [x.peer.address!, y.peer.address!] })
  await until([picky], () => picky.peer.connections.length === 1)
  const [first] = picky.peer.connections
  const [connected, waiting] = first!.id === x.identity.id ? [x, y] : [y, x]
  assert.equal(waiting.events.some((e) => e.event === 'connected'), false, 'the other was not dialed')
  // The connected one goes away: its place goes to the other.
  await connected.peer.stop()
  await waitForEvent(picky, (e) => e.event === 'connected' && e.peer === waiting.identity.id)
  assert.deepEqual(picky.peer.connections.map((c) => c.id), [waiting.identity.id])
})

test('dialing a peer that is not there backs off exponentially, and the failures are remembered', async (t) => {
  const absent = formatNetShsAddress('127.0.0.1', await freePort('127.0.0.1'), generateIdentity().id)
  // random 0.5 makes the jitter factor exactly 1: waits of 40, 80, 160, 160 ms.
  const alice = await startPeer(t, { connections: { minBackoff: 40, maxBackoff: 160 }, peers: [absent] })
  const failures: number[] = []
  await until([alice], () => {
    failures.splice(0, failures.length, ...alice.events.flatMap((e, i) => (e.event === 'connect-failed' ? [i] : [])))
    return failures.length >= 5
  })
  await alice.peer.stop()
  const [record] = alice.peer.rememberedPeers()
  assert.equal(record!.address, absent)
  assert.ok(record!.failures >= 5)
  assert.equal(record!.lastSuccess, null)
  const stored = await alice.store.localState<{ failures: number }>('conn').get(absent)
  assert.equal(stored!.failures, record!.failures, 'the failure count is in the store')
})

test('backoff waits double per failure up to the cap, jittered within ±25%', async (t) => {
  const absent = formatNetShsAddress('127.0.0.1', await freePort('127.0.0.1'), generateIdentity().id)
  for (const [random, factor] of [[0.5, 1], [0, 0.75], [0.999, 1.25]] as const) {
    const times: number[] = []
    const alice = await startPeer(t, { connections: { minBackoff: 40, maxBackoff: 160, random: () => random }, peers: [absent] })
    alice.peer.on('event', (e) => {
      if (e.event === 'connect-failed') times.push(Date.now())
    })
    await until([alice], () => times.length >= 5)
    await alice.peer.stop()
    const gaps = times.slice(1).map((time, i) => time - times[i]!)
    // Timers never fire early (a millisecond of rounding aside); late is the machine being busy.
    ;[40, 80, 160, 160].forEach((wait, i) => assert.ok(gaps[i]! >= Math.floor(wait * factor) - 1, `random ${random}: gap ${i} was ${gaps[i]} ms, want ≥ ${wait * factor}`))
  }
})

test('remembered peers are redialled after a restart; forgotten ones are not', async (t) => {
  const dir = await tempDir(t)
  const identity = generateIdentity()
  const bob = await startPeer(t)
  const carol = await startPeer(t)

  const store = await openStore({ path: dir, create: true, identity })
  const first = new Peer({ store, identity, host: '127.0.0.1' })
  await first.start()
  const remembered = await first.remember(bob.peer.address!, 'pub')
  assert.equal(remembered.kind, 'pub')
  await first.remember(carol.peer.address!)
  const firstPeer = { peer: first, store, identity, events: [] }
  await until([bob, carol, firstPeer], () => first.connections.length === 2 && [bob, carol].every((p) => p.events.some((e) => e.event === 'connected')))
  assert.equal(first.status().peers.find((p) => p.id === bob.identity.id)?.kind, 'pub')
  assert.equal(await first.forget(carol.peer.address!), true)
  await first.stop()
  await store.close()

  const bobSeen = bob.events.filter((e) => e.event === 'connected').length
  const reopened = await openStore({ path: dir, identity })
  defer(t, () => reopened.close())
  // Named again with --peers, bob stays a pub: a known peer keeps its kind.
  const second = new Peer({ store: reopened, identity, host: '127.0.0.1', peers: [bob.peer.address!] })
  defer(t, () => second.stop())
  const events: PeerEvent[] = []
  second.on('event', (e) => events.push(e))
  await second.start()
  assert.deepEqual(second.rememberedPeers().map((p) => [p.address, p.kind]), [[bob.peer.address, 'pub']])
  assert.ok(second.rememberedPeers()[0]!.lastSuccess! > 0, 'the last success was remembered')
  const secondPeer = { peer: second, store: reopened, identity, events }
  await until([bob, secondPeer], () => bob.events.filter((e) => e.event === 'connected').length > bobSeen && second.connections.length === 1)
  assert.deepEqual(second.connections.map((c) => c.id), [bob.identity.id])
})

test('disconnect on request closes the connection and holds the peer until connected again', async (t) => {
  const bob = await startPeer(t)
  const alice = await startPeer(t, { connections: { minBackoff: 10 }, peers: [bob.peer.address!] })
  await until([alice], () => alice.peer.connections.length === 1)
  assert.equal(alice.peer.disconnect(bob.identity.id), 1)
  await waitForEvent(alice, (e) => e.event === 'disconnected' && e.reason === 'disconnected on request')
  assert.equal(alice.peer.connections.length, 0)
  assert.equal(alice.peer.rememberedPeers().length, 1, 'still remembered')
  assert.throws(() => alice.peer.disconnect('bogus'), /not a net:HOST:PORT~shs:KEY address/)

  const again = await alice.peer.connect(bob.peer.address!)
  assert.equal(again.id, bob.identity.id)
  assert.equal(alice.peer.disconnect(bob.peer.address!), 1, 'by address too')
})

test('a stored peer record that makes no sense is reported and skipped; the rest are dialed', async (t) => {
  const bob = await startPeer(t)
  const identity = generateIdentity()
  const dir = await tempDir(t)
  const store = await openStore({ path: dir, create: true, identity })
  defer(t, () => store.close())
  const state = store.localState('conn')
  const now = Date.now()
  await state.put(bob.peer.address!, { address: bob.peer.address, key: bob.identity.id, kind: 'pub', birth: now, lastSuccess: null, lastAttempt: null, failures: 0 })
  await state.put('not an address', { kind: 'pub' })
  await state.put(formatNetShsAddress('127.0.0.1', 9, identity.id), { key: identity.id, kind: 'pub', birth: now, lastSuccess: null, lastAttempt: null, failures: 0 })
  await state.put(formatNetShsAddress('127.0.0.1', 10, bob.identity.id), { key: bob.identity.id, kind: 'pub', birth: now, lastSuccess: null, lastAttempt: null, failures: -3 })
  const alice = await startPeer(t, { store, identity })
  assert.equal(alice.events.filter((e) => e.event === 'error' && /remembered peer that makes no sense/.test(e.reason)).length, 3)
  assert.deepEqual(alice.peer.rememberedPeers().map((p) => p.address), [bob.peer.address])
  await until([alice], () => alice.peer.connections.length === 1)
})

test('a dial under way keeps the kind it was asked for when another connection to that key closes meanwhile', async (t) => {
  const us = generateIdentity()
  const them = generateIdentity()
  const store = await openStore({ path: await tempDir(t), create: true, identity: us })
  defer(t, () => store.close())
  const address = formatNetShsAddress('127.0.0.1', 1, them.id)
  const connection = (inbound: boolean) => ({ id: them.id, address, inbound, local: false, close() {} })
  let answer!: (opened: ReturnType<typeof connection>) => void
  const manager = new ConnectionManager<ReturnType<typeof connection>>({
    self: us.id, state: store.localState('conn'), report: () => {},
    dial: () => new Promise((resolve) => (answer = resolve)),
  })
  defer(t, () => manager.stop())

  const dialing = manager.connect(address, 'lan')
  // While our dial is under way, they dial us too, and that connection goes again.
  const theirs = connection(true)
  assert.equal(manager.settle(them.id, true), null)
  manager.opened(theirs)
  manager.closed(theirs)
  // Ours comes up as the peer sets a dialed connection up: settled and opened, then answered.
  const ours = connection(false)
  assert.equal(manager.settle(them.id, false), null)
  manager.opened(ours)
  answer(ours)
  assert.equal(await dialing, ours)
  assert.equal(manager.kindOf(ours), 'lan')
})
