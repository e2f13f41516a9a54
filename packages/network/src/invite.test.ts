// Invites between two Hearsay peers and with ssb-server@16's ssb-invite (both ways), malformed
// codes, and what a guest key and an ordinary peer get back when they call what they may not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import createMuxrpc, { type Manifest } from 'muxrpc'
import pull, { type Duplex, type Source } from 'pull-stream'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import type { Store } from '@hearsay/store'
import { boundedCodec } from './codec.ts'
import { InviteError, formatInviteCode, parseInviteCode } from './invite.ts'
import { announcePub } from './pub.ts'
import { Transport } from './transport.ts'
import { startPeer, waitForEvent, waitForSequence } from './testing/helpers.ts'
import { call, startReferencePeer } from './testing/reference.ts'

const KEY = '@' + Buffer.alloc(32, 7).toString('base64') + '.ed25519'
const SEED = Buffer.alloc(32, 9).toString('base64')

async function contents(store: Store, feed: FeedId): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = []
  for await (const message of store.readFeed(feed)) out.push(message.value.content as Record<string, unknown>)
  return out
}

function assertInviteError(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InviteError, `an InviteError, not ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

test('invite codes parse in ssb-invite\'s legacy and multiserver forms; malformed ones get a clear error', () => {
  const legacy = parseInviteCode(` "pub.example.org:8008:${KEY}~${SEED}" `)
  assert.equal(legacy.host, 'pub.example.org')
  assert.equal(legacy.port, 8008)
  assert.equal(legacy.key, KEY)
  assert.deepEqual(legacy.seed, Buffer.alloc(32, 9))
  assert.equal(legacy.address, `net:pub.example.org:8008~shs:${KEY.slice(1, -8)}`)
  assert.equal(formatInviteCode('pub.example.org', 8008, KEY as FeedId, Buffer.alloc(32, 9)), `pub.example.org:8008:${KEY}~${SEED}`)
  const multiserver = parseInviteCode(`net:10.1.2.3:9000~shs:${KEY.slice(1, -8)}:${SEED}`)
  assert.deepEqual([multiserver.host, multiserver.port, multiserver.key], ['10.1.2.3', 9000, KEY])

  const malformed: unknown[] = [
    '', 'hello', 42, null,
    `pub.example.org:8008:${KEY}`, // no seed
    `pub.example.org:0:${KEY}~${SEED}`, // port 0
    `pub.example.org:70000:${KEY}~${SEED}`, // port out of range
    `pub.example.org:8008:@${Buffer.alloc(31).toString('base64')}.ed25519~${SEED}`, // short key
    `pub.example.org:8008:${KEY}~${Buffer.alloc(16).toString('base64')}`, // short seed
    `pub.example.org:8008:${KEY}~${SEED.slice(0, -2)}Z=`, // not canonical base64
    `pub example:8008:${KEY}~${SEED}`, // space in host
    `;pub.example.org:8008:${KEY}~${SEED}`, // ';' separates addresses: the pub's would not dial (found by the fuzz suite)
    `${'a'.repeat(2000)}:8008:${KEY}~${SEED}`, // overlong
  ]
  for (const code of malformed) assert.throws(() => parseInviteCode(code), assertInviteError('EINVITE_MALFORMED'), JSON.stringify(code)?.slice(0, 60))
})

test('a Hearsay pub\'s invite makes it and the newcomer follow each other, and a single-use code works once', async (t) => {
  const pub = await startPeer(t)
  const newcomer = await startPeer(t)
  // Listening on 127.0.0.1 only and no external name: nobody else could use a code.
  await assert.rejects(pub.peer.createInvite(), assertInviteError('EINVITE_NO_ADDRESS'))
  await assert.rejects(pub.peer.createInvite({ uses: 0, external: '127.0.0.1' }), assertInviteError('EINVITE_BAD_ARGUMENT'))
  await assert.rejects(pub.peer.createInvite({ external: 'no:colons' }), assertInviteError('EINVITE_BAD_ARGUMENT'))

  const code = await pub.peer.createInvite({ external: '127.0.0.1', note: 'for a friend' })
  const parsed = parseInviteCode(code)
  assert.equal(parsed.key, pub.identity.id)
  assert.equal(parsed.address, pub.peer.address)

  const redeemed = await newcomer.peer.useInvite(code)
  assert.equal(redeemed.pub, pub.identity.id)
  assert.deepEqual(await contents(pub.store, pub.identity.id), [
    { type: 'contact', contact: newcomer.identity.id, following: true, pub: true, note: 'for a friend' },
  ])
  assert.deepEqual(await contents(newcomer.store, newcomer.identity.id), [
    { type: 'contact', following: true, autofollow: true, contact: pub.identity.id },
    { type: 'pub', address: { host: '127.0.0.1', port: parsed.port, key: pub.identity.id } },
  ])
  assert.deepEqual(newcomer.peer.rememberedPeers().map((peer) => [peer.address, peer.kind]), [[pub.peer.address, 'pub']])
  // Connected, and replicating each other now that they follow each other.
  await Promise.all([waitForSequence(newcomer.store, pub.identity.id, 1), waitForSequence(pub.store, newcomer.identity.id, 2)])

  // The code is spent: the pub refuses its guest key at the handshake.
  const other = await startPeer(t)
  await assert.rejects(other.peer.useInvite(code), assertInviteError('EINVITE_USED_UP'))
  assert.deepEqual(await contents(other.store, other.identity.id), [], 'nothing published for a refused invite')
  assert.equal((await contents(pub.store, pub.identity.id)).length, 1)
  // A code the pub never made: its key is any peer's, which may not call invite.use.
  await assert.rejects(other.peer.useInvite(formatInviteCode('127.0.0.1', parsed.port, pub.identity.id, Buffer.alloc(32, 1))), assertInviteError('EINVITE_USED_UP'))
  await assert.rejects(other.peer.useInvite('not a code'), assertInviteError('EINVITE_MALFORMED'))
})

test('a multi-use code counts its uses, and the pub will not follow someone twice', async (t) => {
  const pub = await startPeer(t, { external: '127.0.0.1' })
  const code = await pub.peer.createInvite({ uses: 2 })
  const first = await startPeer(t)
  await first.peer.useInvite(code)
  // The same newcomer again: the pub already follows it (ssb-invite's answer), the use not counted.
  await assert.rejects(first.peer.useInvite(code), (err: unknown) => err instanceof InviteError && err.code === 'EINVITE_REFUSED' && /already following/.test(err.message))
  const second = await startPeer(t)
  await second.peer.useInvite(code)
  const third = await startPeer(t)
  await assert.rejects(third.peer.useInvite(code), assertInviteError('EINVITE_USED_UP'))
  const followed = (await contents(pub.store, pub.identity.id)).map((content) => content.contact)
  assert.deepEqual(followed, [first.identity.id, second.identity.id])
})

/** A muxrpc client over `connection`, recording every frame it receives as it came off the wire. */
function tappedClient(stream: Duplex<Buffer, Buffer>, manifest: Manifest) {
  const frames: Array<{ end?: boolean; value?: unknown }> = []
  const codec = (inner: Duplex<unknown, unknown>) =>
    boundedCodec()({
      source: inner.source,
      sink: (read: Source<unknown>) =>
        inner.sink((abort, cb) =>
          read(abort, (end, frame) => {
            if (!end) frames.push(frame as { end?: boolean; value?: unknown })
            cb(end, frame)
          }),
        ),
    })
  const rpc = createMuxrpc(manifest, {}, {}, { allow: [] }, codec)
  pull(stream, rpc.stream, stream)
  return { rpc, frames }
}

/** Calls an async method; muxrpc rejects with the error object as it came off the wire. */
function callAsync(fn: (...args: unknown[]) => void, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => fn(...args, (err: { message: string } | null, value: unknown) => (err ? reject(new Error(err.message)) : resolve(value))))
}

test('guests may only call invite.use, and denied calls reach remote peers without our stack trace', async (t) => {
  const pub = await startPeer(t, { external: '127.0.0.1' })
  const code = await pub.peer.createInvite()
  const guest = new Transport({ identity: generateIdentity(parseInviteCode(code).seed) })
  t.after(() => guest.close())
  const asGuest = tappedClient((await guest.connect(pub.peer.address!)).stream, { publish: 'async', invite: { use: 'async' } })
  await assert.rejects(callAsync((asGuest.rpc as unknown as { publish: (...a: unknown[]) => void }).publish, { type: 'post', text: 'sneaky' }), /not in list of allowed methods/)
  // Malformed requests are refused without spending the code.
  await assert.rejects(callAsync((asGuest.rpc.invite as { use: (...a: unknown[]) => void }).use, { feed: 'nobody' }), /feed id/)
  assert.deepEqual(await contents(pub.store, pub.identity.id), [])

  const stranger = new Transport({ identity: generateIdentity() })
  t.after(() => stranger.close())
  const asPeer = tappedClient((await stranger.connect(pub.peer.address!)).stream, { publish: 'async', invite: { create: 'async' } })
  await assert.rejects(callAsync((asPeer.rpc as unknown as { publish: (...a: unknown[]) => void }).publish, { type: 'post', text: 'x' }), /not in list of allowed methods/)
  await assert.rejects(callAsync((asPeer.rpc.invite as { create: (...a: unknown[]) => void }).create, {}), /not in list of allowed methods/)

  const errors = [...asGuest.frames, ...asPeer.frames].filter((frame) => frame.end === true && typeof frame.value === 'object')
  assert.equal(errors.length, 4)
  for (const { value } of errors) {
    const { name, message, stack } = value as { name: string; message: string; stack: string }
    assert.equal(stack, `${name}: ${message}`, 'the stack is only the name and message')
    assert.doesNotMatch(JSON.stringify(value), /node_modules|\.ts:\d|\.js:\d|\n\s+at /)
  }
})

test('ssb-server redeems a Hearsay invite with invite.accept, and a second use is refused', { timeout: 60_000 }, async (t) => {
  const pub = await startPeer(t, { external: '127.0.0.1', replicate: { hops: 1 } })
  const reference = await startReferencePeer(t, { invite: true })
  const code = await pub.peer.createInvite()
  const client = reference.client as unknown as { invite: { accept(code: string, cb: (err: Error | null, value: unknown) => void): void } }
  await call((cb) => client.invite.accept(code, cb))
  assert.deepEqual(await contents(pub.store, pub.identity.id), [{ type: 'contact', contact: reference.id, following: true, pub: true }])
  // ssb-server followed us and announced us as ssb-invite does; we now replicate its feed.
  await pub.peer.connect(reference.address)
  await waitForSequence(pub.store, reference.id, 2)
  const theirs = await contents(pub.store, reference.id)
  const port = parseInviteCode(code).port
  assert.deepEqual(new Set(theirs.map((c) => JSON.stringify(c))), new Set([
    JSON.stringify({ type: 'contact', following: true, autofollow: true, contact: pub.identity.id }),
    JSON.stringify({ type: 'pub', address: { host: '127.0.0.1', port, key: pub.identity.id } }),
  ]))

  const again = await startReferencePeer(t, { invite: true })
  const otherClient = again.client as unknown as typeof client
  // ssb-invite's message for a key we refuse at the handshake (it comes as a plain object).
  await assert.rejects(call((cb) => otherClient.invite.accept(code, cb)), (err: { message?: string }) => /could not connect/.test(err.message ?? ''))
  assert.equal((await contents(pub.store, pub.identity.id)).length, 1)
})

test('Hearsay redeems an ssb-server invite, and a second use is refused', { timeout: 60_000 }, async (t) => {
  const reference = await startReferencePeer(t, { invite: true })
  const client = reference.client as unknown as { invite: { create(options: object, cb: (err: Error | null, code: string) => void): void } }
  const code = await call<string>((cb) => client.invite.create({ uses: 1, external: '127.0.0.1' }, cb))
  const newcomer = await startPeer(t)
  const redeemed = await newcomer.peer.useInvite(code)
  assert.equal(redeemed.pub, reference.id)
  assert.deepEqual(await contents(newcomer.store, newcomer.identity.id), [
    { type: 'contact', following: true, autofollow: true, contact: reference.id },
    { type: 'pub', address: { host: '127.0.0.1', port: reference.port, key: reference.id } },
  ])
  // ssb-server's follow of us (pub: true) arrives over the connection useInvite opened.
  await waitForSequence(newcomer.store, reference.id, 1)
  assert.deepEqual(await contents(newcomer.store, reference.id), [{ type: 'contact', contact: newcomer.identity.id, following: true, pub: true }])
  await waitForEvent(newcomer, (e) => e.event === 'connected' && e.peer === reference.id)

  const other = await startPeer(t)
  await assert.rejects(other.peer.useInvite(code), assertInviteError('EINVITE_USED_UP'))
  assert.deepEqual(await contents(other.store, other.identity.id), [])
})

test('pub mode announces its public address once, and again only when it changes', async (t) => {
  const pub = await startPeer(t)
  assert.equal(await announcePub(pub.store, pub.identity, { host: 'pub.example.org', port: 8008 }), true)
  await pub.store.publish(pub.identity, { type: 'post', text: 'between' })
  assert.equal(await announcePub(pub.store, pub.identity, { host: 'pub.example.org', port: 8008 }), false, 'unchanged: nothing published')
  assert.equal(await announcePub(pub.store, pub.identity, { host: 'pub.example.org', port: 8009 }), true)
  const pubs = (await contents(pub.store, pub.identity.id)).filter((content) => content.type === 'pub')
  assert.deepEqual(pubs, [
    { type: 'pub', address: { host: 'pub.example.org', port: 8008, key: pub.identity.id } },
    { type: 'pub', address: { host: 'pub.example.org', port: 8009, key: pub.identity.id } },
  ])
})
