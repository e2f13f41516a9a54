// Every socket here is on the loopback interface: beacons go to 127.0.0.1 (or, where a
// broadcast is the point, 127.255.255.255), on free ports rather than 8008 and 26830.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { MAIN_NETWORK_CAPS, formatNetShsAddress, generateIdentity, type Identity } from '@hearsay/keys'
import {
  DiscoveryOptionsError, MAX_BEACON_BYTES,
  createLanDiscovery, decodeCaps, encodeEncryptedBeacon, encodeLegacyBeacon,
  type LanDiscovery, type LanDiscoveryOptions,
} from './index.ts'
import { freeUdpPort, loopbackSender, nextPeer, recordPeers } from './testing/net.ts'
import { SsbLanPeer } from './testing/ssb-lan.ts'

const caps = decodeCaps(MAIN_NETWORK_CAPS)

async function started(t: TestContext, options: LanDiscoveryOptions): Promise<LanDiscovery> {
  const discovery = createLanDiscovery(options)
  t.after(() => discovery.stop())
  await discovery.start()
  return discovery
}

// A discovery instance that listens on 127.0.0.1 only, on the given ports, and sends
// nowhere unless told: the hand-made packets in these tests are all it hears.
async function listening(t: TestContext, identity: Identity, ports: { legacy: number; encrypted: number }, extra: Partial<LanDiscoveryOptions> = {}) {
  return started(t, {
    identity, caps, port: 8008, host: '127.0.0.1',
    legacy: { port: ports.legacy }, encrypted: { port: ports.encrypted }, mdns: false,
    bind: '127.0.0.1', broadcast: [], ...extra,
  })
}

test('two instances on 127.0.0.1 find each other through both beacons', { timeout: 10_000 }, async (t) => {
  const alice = generateIdentity()
  const bob = generateIdentity()
  const [aliceLegacy, aliceEncrypted, bobLegacy, bobEncrypted] = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()])
  // Each listens on its own ports and sends to the other's: on one machine two sockets
  // sharing a port would not both hear a unicast packet.
  const common = { caps, host: '127.0.0.1', mdns: false, bind: '127.0.0.1', broadcast: ['127.0.0.1'], interval: 100 } as const
  const aliceSide = createLanDiscovery({
    ...common, identity: alice, port: 9001,
    legacy: { port: aliceLegacy, sendPort: bobLegacy }, encrypted: { port: aliceEncrypted, sendPort: bobEncrypted },
  })
  const bobSide = createLanDiscovery({
    ...common, identity: bob, port: 9002,
    legacy: { port: bobLegacy, sendPort: aliceLegacy }, encrypted: { port: bobEncrypted, sendPort: aliceEncrypted },
  })
  t.after(() => Promise.all([aliceSide.stop(), bobSide.stop()]))
  const aliceHears = recordPeers(aliceSide)
  const waits = [
    nextPeer(aliceSide, (peer) => peer.source === 'legacy'),
    nextPeer(aliceSide, (peer) => peer.source === 'encrypted'),
    nextPeer(bobSide, (peer) => peer.source === 'legacy'),
    nextPeer(bobSide, (peer) => peer.source === 'encrypted'),
  ]
  await Promise.all([aliceSide.start(), bobSide.start()])
  assert.deepEqual(aliceSide.boundPorts, { legacy: aliceLegacy, encrypted: aliceEncrypted })
  const [aliceLegacyPeer, aliceEncryptedPeer, bobLegacyPeer, bobEncryptedPeer] = await Promise.all(waits)

  for (const peer of [aliceLegacyPeer!, aliceEncryptedPeer!]) {
    assert.equal(peer.key, bob.id)
    assert.equal(peer.address, formatNetShsAddress('127.0.0.1', 9002, bob.id))
    assert.deepEqual([peer.host, peer.port], ['127.0.0.1', 9002])
    assert.equal(peer.from.address, '127.0.0.1')
  }
  assert.equal(aliceLegacyPeer!.from.port, bobLegacy, 'sent from the listening socket, as ssb-lan does')
  for (const peer of [bobLegacyPeer!, bobEncryptedPeer!]) assert.equal(peer.address, formatNetShsAddress('127.0.0.1', 9001, alice.id))
  assert.ok(aliceHears.every((peer) => peer.key === bob.id))
})

test('our own beacons, repeats and hostile packets are dropped on the wire', { timeout: 10_000 }, async (t) => {
  const alice = generateIdentity()
  const bob = generateIdentity()
  const carol = generateIdentity()
  const ports = { legacy: await freeUdpPort(), encrypted: await freeUdpPort() }
  const discovery = await listening(t, alice, ports)
  const heard = recordPeers(discovery)
  const warnings: Error[] = []
  discovery.on('warning', (error) => warnings.push(error))
  const send = await loopbackSender(t)
  const address = (identity: Identity) => formatNetShsAddress('127.0.0.1', 8008, identity.id)

  const legacy = [
    encodeLegacyBeacon(address(alice)),
    randomBytes(300),
    Buffer.alloc(MAX_BEACON_BYTES + 1, 0x61),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from(`net:127.0.0.1:8008~shs:${bob.id}`),
    encodeLegacyBeacon(address(bob)),
    encodeLegacyBeacon(address(bob)),
    encodeLegacyBeacon(address(carol)),
  ]
  const encrypted = [
    encodeEncryptedBeacon(address(alice), alice, caps),
    randomBytes(300),
    Buffer.alloc(4096),
    encodeEncryptedBeacon(address(bob), bob, Buffer.alloc(32, 9)),
    encodeLegacyBeacon(address(bob)),
    encodeEncryptedBeacon(address(bob), bob, caps),
    encodeEncryptedBeacon(address(bob), bob, caps),
    encodeEncryptedBeacon(address(carol), carol, caps),
  ]
  const carolTwice = Promise.all([
    nextPeer(discovery, (peer) => peer.key === carol.id && peer.source === 'legacy'),
    nextPeer(discovery, (peer) => peer.key === carol.id && peer.source === 'encrypted'),
  ])
  // One sender, one destination each: loopback keeps them in order, so once carol's beacon
  // is reported every packet before it has been dealt with.
  for (const packet of legacy) await send(packet, ports.legacy)
  for (const packet of encrypted) await send(packet, ports.encrypted)
  await carolTwice

  const seen = (source: string) => heard.filter((peer) => peer.source === source).map((peer) => peer.key)
  assert.deepEqual(seen('legacy'), [bob.id, carol.id])
  assert.deepEqual(seen('encrypted'), [bob.id, carol.id])
  assert.deepEqual(warnings, [])
})

test('with no de-duplication window every beacon is reported', { timeout: 10_000 }, async (t) => {
  const alice = generateIdentity()
  const bob = generateIdentity()
  const ports = { legacy: await freeUdpPort(), encrypted: await freeUdpPort() }
  const discovery = await listening(t, alice, ports, { dedupeWindow: 0, encrypted: false })
  const heard = recordPeers(discovery)
  const send = await loopbackSender(t)
  const bobs = encodeLegacyBeacon(formatNetShsAddress('127.0.0.1', 8008, bob.id))
  const last = encodeLegacyBeacon(formatNetShsAddress('127.0.0.1', 8009, bob.id))
  const done = nextPeer(discovery, (peer) => peer.port === 8009)
  for (const packet of [bobs, bobs, bobs, last]) await send(packet, ports.legacy)
  await done
  assert.deepEqual(heard.map((peer) => peer.port), [8008, 8008, 8008, 8009])
})

test('a running ssb-lan and we find each other by encrypted beacon', { timeout: 15_000 }, async (t) => {
  const ours = generateIdentity()
  const theirs = generateIdentity()
  const port = await freeUdpPort()
  // ssb-lan only ever sends to the port it listens on, so both must share one: sockets
  // bound to 0.0.0.0 with SO_REUSEADDR, reached by broadcasting on loopback.
  const discovery = await started(t, {
    identity: ours, caps, port: 9010, host: '127.0.0.1',
    legacy: false, encrypted: { port }, mdns: false,
    bind: '0.0.0.0', broadcast: ['127.255.255.255'], interval: 100,
  })
  const reference = new SsbLanPeer({
    identity: theirs, caps, address: formatNetShsAddress('127.0.0.1', 9011, theirs.id),
    encryptedPort: port, destinations: ['127.255.255.255'],
  })
  t.after(() => reference.stop())
  const found = nextPeer(discovery, (peer) => peer.key === theirs.id)
  const theyFound = new Promise((resolve) => {
    const check = (discovery: { address: string; verified: boolean }) => {
      if (!discovery.address.endsWith(ours.publicKey.toString('base64'))) return
      reference.off('discovery', check)
      resolve(discovery)
    }
    reference.on('discovery', check)
  })
  await reference.start()

  const peer = await found
  assert.deepEqual(
    { address: peer.address, source: peer.source },
    { address: formatNetShsAddress('127.0.0.1', 9011, theirs.id), source: 'encrypted' },
  )
  assert.deepEqual(await theyFound, { address: formatNetShsAddress('127.0.0.1', 9010, ours.id), verified: true })
  assert.ok(!reference.discoveries.some((d) => d.address.includes(theirs.publicKey.toString('base64'))), 'it heard itself and dropped it')
})

test('options are checked before any socket opens', () => {
  const identity = generateIdentity()
  const base = { identity, caps, port: 8008 }
  const refused = (options: object, pattern: RegExp) =>
    assert.throws(
      () => createLanDiscovery({ ...base, ...options } as LanDiscoveryOptions),
      (error: unknown) => error instanceof DiscoveryOptionsError && error.code === 'EDISCOVERYOPTIONS' && pattern.test(error.message),
    )
  refused({ identity: { id: 'me' } }, /identity/)
  refused({ caps: Buffer.alloc(16) }, /caps/)
  refused({ caps: 'not base64' }, /caps/)
  refused({ port: 0 }, /port/)
  refused({ port: 70000 }, /port/)
  refused({ host: 'example.com' }, /host/)
  refused({ host: '0.0.0.0' }, /host/)
  refused({ broadcast: ['::1'] }, /IPv4/)
  refused({ legacy: { port: -1 } }, /legacy\.port/)
  refused({ encrypted: { sendPort: 0 } }, /encrypted\.sendPort/)
  refused({ interval: 0 }, /interval/)
  refused({ dedupeWindow: -1 }, /dedupeWindow/)
})

test('a socket that cannot bind fails start() and leaves nothing open', { timeout: 10_000 }, async (t) => {
  // 203.0.113.1 (TEST-NET-3) is no address of this machine's, so binding to it fails.
  const discovery = createLanDiscovery({
    identity: generateIdentity(), caps, port: 8008, legacy: { port: 0 }, encrypted: { port: 0 }, mdns: false,
    bind: '203.0.113.1', broadcast: [],
  })
  t.after(() => discovery.stop())
  await assert.rejects(discovery.start(), { code: 'EADDRNOTAVAIL' })
  assert.deepEqual(discovery.boundPorts, {})
})

test('start and stop may be called twice, and a stopped instance starts again', { timeout: 10_000 }, async (t) => {
  const identity = generateIdentity()
  const discovery = createLanDiscovery({
    identity, caps, port: 8008, legacy: { port: 0 }, encrypted: { port: 0 }, mdns: false, bind: '127.0.0.1', broadcast: [],
  })
  t.after(() => discovery.stop())
  await Promise.all([discovery.start(), discovery.start()])
  const first = discovery.boundPorts
  assert.ok(first.legacy && first.encrypted)
  await Promise.all([discovery.stop(), discovery.stop()])
  assert.deepEqual(discovery.boundPorts, {})
  await discovery.start()
  assert.ok(discovery.boundPorts.legacy)
  await discovery.stop()
})
