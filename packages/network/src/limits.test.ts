// Inbound connection limits: sockets over a bound are closed as they arrive, before any
// handshake; the connections admitted keep working, and once they close new ones get in.
// Everything on 127.0.0.1, over real TCP, with real secret handshakes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import createMuxrpc, { type Rpc } from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { MANIFEST } from './manifest.ts'
import { parseAddress } from './address.ts'
import { Transport, type Connection } from './transport.ts'
import { defer, publishPosts, startPeer, waitForEvent, type Teardown, type TestPeer } from './testing/helpers.ts'

interface RawSocket {
  socket: net.Socket
  /** Resolves when the socket closes, whoever closed it. */
  closed: Promise<void>
  /** Whether it has closed by now. */
  readonly isClosed: boolean
}

/** A plain TCP socket to `address` that sends `hello` (default nothing) and then waits. */
async function rawSocket(t: Teardown, address: string, hello?: Buffer): Promise<RawSocket> {
  const { host, port } = parseAddress(address)
  const socket = net.connect(port, host)
  socket.on('error', () => {})
  defer(t, () => socket.destroy())
  let isClosed = false
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    isClosed = true
    resolve()
  }))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  if (hello) socket.write(hello)
  return { socket, closed, get isClosed() { return isClosed } }
}

/** Resolves once `promise` does, or rejects after `ms` naming `what`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
    }),
  ])
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Client {
  id: FeedId
  connection: Connection
  rpc: Rpc
  /** The first `limit` messages of `feed`, by createHistoryStream. */
  history(feed: FeedId, limit: number): Promise<unknown[]>
}

/** A new identity dialing `address` with its own transport, speaking muxrpc as a peer would. */
async function dial(t: Teardown, address: string): Promise<Client> {
  const transport = new Transport({ identity: generateIdentity() })
  defer(t, () => transport.close())
  const connection = await transport.connect(address)
  // The peer replicates from us too: we hold nothing.
  const api = { createHistoryStream: () => pull.empty(), ebt: { replicate: () => { throw new Error('no EBT here') } } }
  const rpc = createMuxrpc(MANIFEST, MANIFEST, api, null)
  pull(connection.stream, rpc.stream, connection.stream)
  return {
    id: transport.id,
    connection,
    rpc,
    history: (feed, limit) => new Promise((resolve, reject) => {
      pull(
        (rpc.createHistoryStream as (options: unknown) => Source<unknown>)({ id: feed, limit }),
        pull.collect((err, messages) => (err ? reject(err) : resolve(messages))),
      )
    }),
  }
}

function refusals(peer: TestPeer): Array<{ address: string; reason: string }> {
  return peer.events.flatMap((event) => (event.event === 'refused' ? [event] : []))
}

test('sockets over the per-address limit are closed on arrival; freed slots admit new ones', async (t) => {
  const transport = new Transport({ identity: generateIdentity(), inbound: { maxPerAddress: 3, maxHandshakes: 100 } })
  defer(t, () => transport.close())
  const refused: string[] = []
  const handshakeErrors: string[] = []
  const address = await transport.listen(() => {}, (err) => handshakeErrors.push(err.message), (_from, reason) => refused.push(reason))
  const admitted = [await rawSocket(t, address), await rawSocket(t, address), await rawSocket(t, address)]
  const excess = [await rawSocket(t, address), await rawSocket(t, address, Buffer.alloc(20, 7))]
  await within(2000, 'closing the sockets over the limit', Promise.all(excess.map((raw) => raw.closed)))
  assert.deepEqual(refused, Array(2).fill('over the limit of 3 connections from one address'))
  assert.equal(transport.refused, 2)
  await settle(200)
  assert.ok(admitted.every((raw) => !raw.isClosed), 'the admitted sockets stay open while they handshake')
  // The handshake of a refused socket fails at once, and is forgotten rather than reported.
  assert.equal((transport as unknown as { refusedAddresses: Set<string> }).refusedAddresses.size, 0)
  assert.deepEqual(handshakeErrors, [])

  for (const raw of admitted) raw.socket.destroy()
  await Promise.all(admitted.map((raw) => raw.closed))
  await settle(100) // the server sees the closes
  const again = [await rawSocket(t, address), await rawSocket(t, address), await rawSocket(t, address)]
  await settle(200)
  assert.ok(again.every((raw) => !raw.isClosed), 'slots freed by closed sockets are given again')
  assert.equal(transport.refused, 2)
})

test('the overall inbound limit counts handshaken connections as well as handshaking ones', async (t) => {
  const transport = new Transport({ identity: generateIdentity(), inbound: { maxInbound: 2, maxPerAddress: 10, maxHandshakes: 10 } })
  defer(t, () => transport.close())
  const accepted: Connection[] = []
  const refused: string[] = []
  const address = await transport.listen((connection) => {
    accepted.push(connection)
    pull(connection.stream, connection.stream) // an echo server
  }, () => {}, (_from, reason) => refused.push(reason))
  const client = new Transport({ identity: generateIdentity() })
  defer(t, () => client.close())
  const first = await client.connect(address)
  const silent = await rawSocket(t, address)
  await assert.rejects(client.connect(address), 'a third connection is refused')
  assert.deepEqual(refused, ['over the limit of 2 inbound connections'])
  // The admitted connection still carries data both ways.
  let sent = false
  first.stream.sink((abort, cb) => {
    if (abort) return cb(abort)
    if (!sent) {
      sent = true
      cb(null, Buffer.from('still here'))
    }
  })
  const echoed = await new Promise<Buffer>((resolve, reject) => first.stream.source(null, (end, chunk) => (end ? reject(end) : resolve(chunk!))))
  assert.equal(echoed.toString(), 'still here')
  silent.socket.destroy()
  await silent.closed
  await settle(100)
  const second = await client.connect(address)
  assert.equal(second.remote, transport.id)
  assert.equal(accepted.length, 2)
})

test('a peer caps handshakes in progress: silent sockets cannot keep real peers out for long', async (t) => {
  const pub = await startPeer(t, { inbound: { maxHandshakes: 2, maxPerAddress: 10 } })
  await publishPosts(pub.store, pub.identity, 3)
  const address = pub.peer.address!
  const silent = [await rawSocket(t, address), await rawSocket(t, address, Buffer.from('partial hello'))]
  const third = await rawSocket(t, address)
  await within(2000, 'refusing a third handshake', third.closed)
  await assert.rejects(dial(t, address), 'a real peer is refused while the handshake slots are taken')
  assert.deepEqual(refusals(pub).map((event) => event.reason), Array(2).fill('over the limit of 2 handshakes at once'))
  for (const raw of silent) raw.socket.destroy()
  await Promise.all(silent.map((raw) => raw.closed))
  await settle(100)
  const client = await dial(t, address)
  assert.equal((await client.history(pub.identity.id, 3)).length, 3)
})

test('a peer admits at most max connections; the admitted keep working and a freed slot admits a new peer', async (t) => {
  const pub = await startPeer(t, { connections: { max: 2 }, inbound: { maxHandshakes: 2, maxPerAddress: 10 } })
  await publishPosts(pub.store, pub.identity, 5)
  const address = pub.peer.address!
  const admitted = [await dial(t, address), await dial(t, address)]
  // Handshaken, then refused by key: over `max` peers.
  await assert.rejects(dial(t, address), 'a third peer is refused')
  // Two peers and two handshakes fill the 4 inbound sockets: a fifth is closed on arrival.
  const silent = [await rawSocket(t, address), await rawSocket(t, address)]
  const fifth = await rawSocket(t, address)
  await within(2000, 'refusing the fifth socket', fifth.closed)
  assert.deepEqual(refusals(pub).map((event) => event.reason), ['over the limit of 4 inbound connections'])
  for (const client of admitted) assert.equal((await client.history(pub.identity.id, 5)).length, 5)
  for (const raw of silent) raw.socket.destroy()

  admitted[0]!.connection.destroy()
  await waitForEvent(pub, (event) => event.event === 'disconnected' && event.peer === admitted[0]!.id)
  const newcomer = await dial(t, address)
  assert.equal((await newcomer.history(pub.identity.id, 5)).length, 5)
  assert.equal((await admitted[1]!.history(pub.identity.id, 2)).length, 2)
})

test('inbound limits must be whole numbers of at least one', () => {
  const identity = generateIdentity()
  assert.throws(() => new Transport({ identity, inbound: { maxPerAddress: 0 } }), /maxPerAddress must be a whole number ≥ 1/)
  assert.throws(() => new Transport({ identity, inbound: { maxHandshakes: 1.5 } }), /maxHandshakes must be a whole number ≥ 1/)
  assert.throws(() => new Transport({ identity, inbound: { maxInbound: Number.NaN } }), /maxInbound must be a whole number ≥ 1/)
})
