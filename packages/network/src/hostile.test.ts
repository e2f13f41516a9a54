// Peers that break the protocol are cut off; we keep every valid message they sent before, and
// go on serving everyone else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import createMuxrpc from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import { generateIdentity, sign, toSignatureString, type FeedId, type Identity } from '@hearsay/keys'
import { createMessage, encodeValue, messageIdOf, type MessageValue } from '@hearsay/message'
import { MANIFEST } from './manifest.ts'
import { parseAddress } from './address.ts'
import { Transport, type Connection } from './transport.ts'
import { defer, feedKeys, publishPosts, recordingVerifier, startPeer, waitForEvent, waitForSequence, type TestPeer, type Teardown } from './testing/helpers.ts'

const carol = generateIdentity()

/** Carol's feed: `count` valid posts. */
function chain(count: number, from: Identity = carol): MessageValue[] {
  const values: MessageValue[] = []
  let previous = null
  for (let i = 1; i <= count; i++) {
    const message = createMessage({ identity: from, previous, content: { type: 'post', text: `carol ${i}` }, timestamp: 1_700_000_000_000 + i })
    values.push(message.value)
    previous = { id: message.key, sequence: i, timestamp: message.value.timestamp }
  }
  return values
}

/** Signs whatever `unsigned` is, bypassing createMessage's checks (for oversize messages). */
function signAnything(identity: Identity, unsigned: Omit<MessageValue, 'signature'>): MessageValue {
  return { ...unsigned, signature: toSignatureString(sign(identity, Buffer.from(encodeValue(unsigned), 'utf8'))) }
}

/**
 * A peer that answers every createHistoryStream with `serve(feed)`, whatever was asked, and then
 * keeps the stream open (as a live one would). Listens on 127.0.0.1.
 */
async function servingPeer(t: Teardown, serve: (feed: FeedId) => unknown[]): Promise<string> {
  const transport = new Transport({ identity: generateIdentity(), host: '127.0.0.1' })
  defer(t, () => transport.close())
  return transport.listen((connection) => {
    const api = {
      manifest: () => MANIFEST,
      createHistoryStream: (options: { id: FeedId }) => {
        const items = serve(options.id)
        let i = 0
        const source: Source<unknown> = (abort, cb) => {
          if (abort) return cb(abort)
          if (i < items.length) return cb(null, items[i++])
          // then nothing more, never ending
        }
        return source
      },
    }
    const rpc = createMuxrpc(MANIFEST, MANIFEST, api, null)
    pull(connection.stream, rpc.stream, connection.stream)
  }, () => {})
}

/** Writes raw bytes into an established (handshaken) connection; resolves when the other side closes it. */
function sendRaw(connection: Connection, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    pull(pull.values([bytes]), (read: Source<Buffer>) => {
      // Keep the sink open after the bytes: ending it would close the connection from our side.
      let sent = false
      connection.stream.sink((abort, cb) => {
        if (abort) return read(abort, cb)
        if (!sent) {
          sent = true
          return read(null, cb)
        }
      })
    })
    pull(connection.stream.source, pull.drain(() => undefined, () => resolve()))
  })
}

function frame(flags: number, body: Buffer, req = 1): Buffer {
  const head = Buffer.alloc(9)
  head[0] = flags
  head.writeUInt32BE(body.length, 1)
  head.writeInt32BE(req, 5)
  return Buffer.concat([head, body])
}

/** That `victim` still serves: a new peer connects and replicates its feed, live. */
async function stillServes(t: Teardown, victim: TestPeer): Promise<void> {
  const other = await startPeer(t, { replicate: { feeds: [victim.identity.id], hops: 0 } })
  await other.peer.connect(victim.peer.address!)
  const sequence = ((await victim.store.feedStatus(victim.identity.id))?.sequence ?? 0) + 1
  await victim.store.publish(victim.identity, { type: 'post', text: 'still here' })
  await waitForSequence(other.store, victim.identity.id, sequence)
}

test('a peer serving an invalid signature, a skipped sequence or an oversize message is cut off; the valid ones before stay', async (t) => {
  const good = chain(6)
  const forged = { ...good[3]!, signature: toSignatureString(randomBytes(64)) }
  const skipped = chain(8)[7]! // validly signed by carol, but sequence 8 right after 3
  const oversize = signAnything(carol, {
    previous: null, sequence: 4, author: carol.id, timestamp: 1_700_000_000_004, hash: 'sha256',
    content: { type: 'post', text: 'x'.repeat(9000) },
  })
  const cases: Array<[string, unknown[], RegExp]> = [
    ['invalid signature', [...good.slice(0, 3), forged, good[4]], /signature/i],
    ['skipped sequence', [...good.slice(0, 3), skipped], /sequence/i],
    ['oversize message', [...good.slice(0, 3), oversize], /long|large|8192/i],
  ]
  const us = await startPeer(t, { replicate: { feeds: [carol.id], hops: 0 } })
  for (const [name, served, reason] of cases) {
    const address = await servingPeer(t, (feed) => (feed === carol.id ? served : []))
    const hostile = parseAddress(address).key
    const before = us.events.length
    await us.peer.connect(address)
    const cut = await waitForEvent(us, (e) => e.event === 'cut-off' && e.peer === hostile && us.events.indexOf(e) >= before)
    assert.match(cut.event === 'cut-off' ? cut.reason : '', reason, name)
    await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === hostile)
    assert.equal((await us.store.feedStatus(carol.id))?.sequence, 3, `${name}: the three valid messages are kept, nothing after`)
  }
  // An honest peer then completes carol's feed.
  const honest = await servingPeer(t, (feed) => (feed === carol.id ? good : []))
  await us.peer.connect(honest)
  await waitForSequence(us.store, carol.id, 6)
  assert.deepEqual((await feedKeys(us.store, carol.id)).length, 6)
  await stillServes(t, us)
})

test('long batches are checked on the verifier threads; a forged signature deep in one still gets the peer cut off, the valid ones before stay', async (t) => {
  const { verifier, asked: askedToCheck } = recordingVerifier(t)
  const good = chain(300)
  const forged = { ...good[199]!, signature: toSignatureString(randomBytes(64)) }
  const us = await startPeer(t, { verifier, replicate: { feeds: [carol.id], hops: 0 } })
  const hostileAddress = await servingPeer(t, (feed) => (feed === carol.id ? [...good.slice(0, 199), forged, ...good.slice(200)] : []))
  await us.peer.connect(hostileAddress)
  const cut = await waitForEvent(us, (e) => e.event === 'cut-off' && e.peer === parseAddress(hostileAddress).key)
  assert.match(cut.event === 'cut-off' ? cut.reason : '', /signature/i)
  await waitForEvent(us, (e) => e.event === 'disconnected' && e.peer === parseAddress(hostileAddress).key)
  assert.ok(askedToCheck.some((count) => count >= 64), `the verifier checked the long batch (it was asked for ${askedToCheck.join(', ') || 'nothing'})`)
  assert.equal((await us.store.feedStatus(carol.id))?.sequence, 199, 'the 199 valid messages before the forged one are kept, nothing after')

  const honest = await servingPeer(t, (feed) => (feed === carol.id ? good : []))
  await us.peer.connect(honest)
  await waitForSequence(us.store, carol.id, 300)
  assert.deepEqual(await feedKeys(us.store, carol.id), good.map((value) => messageIdOf(value)), 'then an honest peer completes the feed, exactly')
})

test('garbage instead of a handshake, silence, and a wrong caps key are refused; the peer serves on', async (t) => {
  const us = await startPeer(t, { handshakeTimeout: 1_000 })
  const { port } = parseAddress(us.peer.address!)

  const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const garbage = net.connect(port, '127.0.0.1', () => garbage.write(randomBytes(300)))
  garbage.on('error', () => {})
  await closed(garbage)
  await waitForEvent(us, (e) => e.event === 'handshake-failed')

  const silent = net.connect(port, '127.0.0.1')
  silent.on('error', () => {})
  await closed(silent) // the handshake timeout drops it

  const outsider = new Transport({ identity: generateIdentity(), caps: randomBytes(32).toString('base64') })
  defer(t, () => outsider.close())
  await assert.rejects(outsider.connect(us.peer.address!))
  assert.ok(us.events.filter((e) => e.event === 'handshake-failed').length >= 2)
  assert.equal(us.events.some((e) => e.event === 'connected'), false, 'none of them got a connection')

  await publishPosts(us.store, us.identity, 2)
  await stillServes(t, us)
})

test('malformed muxrpc frames after a valid handshake get the peer cut off', async (t) => {
  const us = await startPeer(t, { maxFrame: 64 * 1024 })
  const frames: Array<[string, Buffer, RegExp]> = [
    ['unparseable JSON body', frame(0b0010, Buffer.from('{"name": ["whoami"], "args": [')), /undecodable/],
    ['unknown body type', frame(0b0011, Buffer.from('abc')), /unknown body type/],
    ['oversize frame header', Buffer.concat([frame(0b0010, Buffer.alloc(0)).subarray(0, 1), Buffer.from([0x10, 0, 0, 0, 0, 0, 0, 1])]), /over the 65536-byte limit/],
  ]
  for (const [name, bytes, reason] of frames) {
    const client = new Transport({ identity: generateIdentity() })
    defer(t, () => client.close())
    const connection = await client.connect(us.peer.address!)
    const before = us.events.length
    await sendRaw(connection, bytes)
    const cut = await waitForEvent(us, (e) => e.event === 'cut-off' && e.peer === client.id && us.events.indexOf(e) >= before)
    assert.match(cut.event === 'cut-off' ? cut.reason : '', reason, name)
  }
  // Requests for methods a peer may not call are refused, without cutting it off.
  const client = new Transport({ identity: generateIdentity() })
  defer(t, () => client.close())
  const connection = await client.connect(us.peer.address!)
  const rpc = createMuxrpc(MANIFEST, MANIFEST, {}, null)
  pull(connection.stream, rpc.stream, connection.stream)
  await assert.rejects(new Promise((resolve, reject) => (rpc.publish as (c: object, cb: (e: Error | null, v?: unknown) => void) => void)({ type: 'post', text: 'not yours' }, (err, value) => (err ? reject(err) : resolve(value)))), (err: { message?: string }) => /not in list of allowed methods/.test(err.message ?? ''))
  assert.equal((await us.store.feedStatus(us.identity.id)), null, 'nothing was published')
  rpc.close(true, () => {})
  await stillServes(t, us)
})
