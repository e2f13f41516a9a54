// Rooms: two Hearsay peers that do not listen at all (so neither can dial the other) meet
// through a room, ssb-room@1.3.0's own server in a child process or a Hearsay peer started with
// `room`, and replicate over an end-to-end handshaken tunnel. Hostile: a tunnel to someone not
// in the room, and a room that lies about who is at the other end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import createMuxrpc, { type Manifest } from 'muxrpc'
import duplexPair from 'pull-pair/duplex.js'
import pull, { type Duplex } from 'pull-stream'
import { feedPublicKey, generateIdentity, type FeedId } from '@hearsay/keys'
import { boundedCodec } from './codec.ts'
import type { PeerEvent } from './events.ts'
import { pushable } from './pull.ts'
import { createShs, Transport } from './transport.ts'
import { TUNNEL_MANIFEST } from './tunnel.ts'
import { formatTunnelAddress, parseTunnelAddress } from './tunnel-address.ts'
import { parsePeerAddress } from './address.ts'
import { defer, feedKeys, startPeer, waitForEvent, waitForSequence, type TestPeer, type Teardown } from './testing/helpers.ts'
import { startReferenceAttendant, startReferenceRoom } from './testing/rooms.ts'

const isJoined = (room: FeedId) => (event: PeerEvent) => event.event === 'room-joined' && event.room === room

/** Two attendants of `roomAddress` that do not listen; `follower` follows `author`, who posts. */
async function meetThrough(t: Teardown, roomId: FeedId, roomAddress: string): Promise<{ follower: TestPeer; author: TestPeer }> {
  const author = await startPeer(t, { listen: false, rooms: [roomAddress] })
  const follower = await startPeer(t, { listen: false, rooms: [roomAddress] })
  assert.equal(author.peer.address, null)
  assert.equal(follower.peer.address, null)
  await author.store.publish(author.identity, { type: 'post', text: 'hello through the room' })
  await follower.store.publish(follower.identity, { type: 'contact', contact: author.identity.id, following: true })
  await Promise.all([waitForEvent(author, isJoined(roomId)), waitForEvent(follower, isJoined(roomId))])
  await waitForSequence(follower.store, author.identity.id, 1)
  assert.deepEqual(await feedKeys(follower.store, author.identity.id), await feedKeys(author.store, author.identity.id))
  return { follower, author }
}

function assertTunnelledAsRoom(viewer: TestPeer, other: TestPeer, roomId: FeedId): void {
  const status = viewer.peer.status()
  const entry = status.peers.find((peer) => peer.id === other.identity.id)
  assert.ok(entry, `${other.identity.id} is in the status of ${viewer.identity.id}`)
  assert.equal(entry.kind, 'room')
  assert.equal(parseTunnelAddress(entry.address)?.portal, roomId)
}

test('tunnel addresses parse in the form ssb-room-client writes; malformed ones are refused', () => {
  const room = `@${Buffer.alloc(32, 1).toString('base64')}.ed25519` as FeedId
  const target = `@${Buffer.alloc(32, 2).toString('base64')}.ed25519` as FeedId
  const address = formatTunnelAddress(room, target)
  assert.equal(address, `tunnel:${room}:${target}~shs:${Buffer.alloc(32, 2).toString('base64')}`)
  assert.deepEqual(parseTunnelAddress(address), { address, portal: room, key: target })
  assert.equal(parseTunnelAddress(`tunnel:${room}:${target}`)?.address, address)
  assert.equal(parsePeerAddress(`net:x:1~shs:AAAA;${address}`).key, target)
  for (const bad of [
    `tunnel:${room}:${room}`, // a room is not its own attendant
    `tunnel:${room}:${target}~shs:${Buffer.alloc(32, 3).toString('base64')}`, // shs key of someone else
    `tunnel:${room}`, `tunnel:@nope.ed25519:${target}`, `tunnel:${room}:${target}~noauth:x`, `tunnels:${room}:${target}`,
  ]) {
    assert.equal(parseTunnelAddress(bad), null, bad)
    assert.throws(() => parsePeerAddress(bad), RangeError, bad)
  }
})

test('two peers that cannot dial each other meet through ssb-room and replicate', { timeout: 60_000 }, async (t) => {
  const room = await startReferenceRoom(t)
  const { follower, author } = await meetThrough(t, room.id, room.address)
  assertTunnelledAsRoom(follower, author, room.id)
  assertTunnelledAsRoom(author, follower, room.id)
})

test('ssb-room\'s own tunnel client and Hearsay reach each other through ssb-room, each way, and call each other end to end', { timeout: 60_000 }, async (t) => {
  const room = await startReferenceRoom(t)
  const ours = await startPeer(t, { listen: false, rooms: [room.address] })
  await waitForEvent(ours, isJoined(room.id))

  // We dial it: its secret-stack answers the inner handshake and its tunnel.ping over it.
  const theirs = await startReferenceAttendant(t, room.address)
  const toTheirs = formatTunnelAddress(room.id, theirs.id)
  let opened
  for (let attempt = 0; ; attempt++) {
    // It is in the room once the room lists it; until then the room refuses the tunnel.
    opened = await ours.peer.connect(toTheirs, 'room').catch((err: unknown) => err as Error)
    if (!(opened instanceof Error) || attempt >= 40) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  assert.ok(!(opened instanceof Error), String(opened))
  assert.equal(opened.address, toTheirs)
  const tunnel = opened.rpc.tunnel as { ping(cb: (err: Error | null, now: number) => void): void }
  const pong = await new Promise<number>((resolve, reject) => tunnel.ping((err, now) => (err ? reject(err) : resolve(now))))
  assert.ok(Math.abs(pong - Date.now()) < 60_000, `its tunnel.ping answers over the tunnel with its clock: ${pong}`)
  assert.equal(await theirs.connectedTo(ours.identity.id), formatTunnelAddress(room.id, ours.identity.id))

  // It dials us: we accept the tunnel the room opens with origin set, after the handshake proves it.
  const dialler = await startReferenceAttendant(t, room.address, { dial: true })
  const inbound = await waitForEvent(ours, (event) => event.event === 'connected' && event.peer === dialler.id)
  assert.deepEqual(inbound, { event: 'connected', peer: dialler.id, address: formatTunnelAddress(room.id, dialler.id), inbound: true, local: false })
})

test('two peers that cannot dial each other meet through a Hearsay peer acting as a room', { timeout: 60_000 }, async (t) => {
  const room = await startPeer(t, { room: true })
  const { follower, author } = await meetThrough(t, room.identity.id, room.peer.address!)
  assertTunnelledAsRoom(follower, author, room.identity.id)
  assertTunnelledAsRoom(author, follower, room.identity.id)
  // The room relays the tunnel without replicating through it: it follows no one, so holds no post.
  assert.deepEqual(await feedKeys(room.store, author.identity.id), [])
})

for (const kind of ['ssb-room', 'a Hearsay room'] as const) {
  test(`a tunnel to someone not in ${kind} is refused`, { timeout: 60_000 }, async (t) => {
    const room = kind === 'ssb-room' ? await startReferenceRoom(t) : await startPeer(t, { room: true }).then((peer) => ({ id: peer.identity.id, address: peer.peer.address! }))
    const attendant = await startPeer(t, { listen: false, rooms: [room.address] })
    await waitForEvent(attendant, isJoined(room.id))
    const absent = generateIdentity().id
    await assert.rejects(attendant.peer.connect(formatTunnelAddress(room.id, absent)), /failed its handshake/)
    // And a room we are not in is no way to anyone.
    const elsewhere = generateIdentity().id
    await assert.rejects(attendant.peer.connect(formatTunnelAddress(elsewhere, absent)), /not in the room/)
    assert.ok(!attendant.peer.connections.some((connection) => connection.id === absent))
  })
}

test('a room that lies about who is at the far end of a tunnel gets no connection either way', { timeout: 60_000 }, async (t) => {
  const roomIdentity = generateIdentity()
  const alice = generateIdentity()
  const mallory = generateIdentity()
  /** The far end of a tunnel, handshaking as mallory whoever it is said to be. */
  const asMallory = (stream: Duplex<Buffer, Buffer>, target?: FeedId) => new Promise<Error | null>((resolve) => {
    createShs({ identity: mallory }).create(target ? { key: feedPublicKey(target) } : undefined)({ ...stream, address: 'tunnel' }, (err) => resolve(err))
  })
  let outcomes: Promise<Error | null>[] = []
  const transport = new Transport({ identity: roomIdentity })
  defer(t, () => transport.close())
  const address = await transport.listen((connection) => {
    const manifest: Manifest = { tunnel: TUNNEL_MANIFEST }
    const endpoints = pushable<FeedId[]>()
    endpoints.push([alice.id])
    const rpc = createMuxrpc(manifest, manifest, {
      tunnel: {
        isRoom: (cb: (err: null, answer: boolean) => void) => cb(null, true),
        ping: () => Date.now(),
        announce: () => null,
        leave: () => null,
        // Once the victim is in, we open a tunnel to it saying alice asked for it: mallory handshakes.
        endpoints: () => {
          const tunnel = (rpc.tunnel as { connect(options: object, cb: () => void): Duplex<Buffer, Buffer> }).connect({ portal: roomIdentity.id, target: connection.remote, origin: alice.id }, () => {})
          outcomes.push(asMallory(tunnel, connection.remote))
          return endpoints.source
        },
        // The victim dials alice through us: mallory answers.
        connect: () => {
          const [ours, theirs] = duplexPair<Buffer>()
          outcomes.push(asMallory(ours))
          return theirs
        },
      },
    }, null, boundedCodec())
    pull(connection.stream, rpc.stream, connection.stream)
  }, () => {})
  const victim = await startPeer(t, { listen: false, rooms: [address] })
  await victim.store.publish(victim.identity, { type: 'contact', contact: alice.id, following: true })
  await waitForEvent(victim, isJoined(roomIdentity.id))
  const tunnelled = formatTunnelAddress(roomIdentity.id, alice.id)
  await waitForEvent(victim, (event) => event.event === 'connect-failed' && event.address === tunnelled)
  const failures = await Promise.all(outcomes)
  assert.ok(failures.length >= 2, 'mallory handshook both ways')
  for (const failure of failures) assert.ok(failure instanceof Error, 'mallory\'s handshake failed')
  await waitForEvent(victim, (event) => event.event === 'handshake-failed' && event.address === tunnelled)
  assert.deepEqual(victim.peer.connections.map((connection) => connection.id), [roomIdentity.id])
  assert.ok(!victim.events.some((event) => event.event === 'connected' && (event.peer === alice.id || event.peer === mallory.id)))
  outcomes = []
})
