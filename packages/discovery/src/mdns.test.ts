// mDNS here runs on the loopback interface only (multicast out of 127.0.0.1, on a free
// port rather than 5353), and is skipped where this machine does not loop multicast back.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Bonjour } from 'bonjour-service'
import { MAIN_NETWORK_CAPS, formatNetShsAddress, generateIdentity } from '@hearsay/keys'
import {
  MDNS_SERVICE_TYPE,
  createLanDiscovery, mdnsInstanceName, mdnsTxt, parseMdnsService,
  type LanDiscovery,
} from './index.ts'
import { freeUdpPort, loopbackMulticastWorks, nextPeer, recordPeers } from './testing/net.ts'

const alice = generateIdentity(Buffer.alloc(32, 1))
const bob = generateIdentity(Buffer.alloc(32, 2))
const aliceAddress = formatNetShsAddress('192.168.1.5', 8008, alice.id)

test('instance names are the key in lowercase base32, one per key', () => {
  const name = mdnsInstanceName(alice.id)
  assert.match(name, /^[a-z2-7]{52}$/)
  assert.notEqual(mdnsInstanceName(bob.id), name)
  // 32 bytes → 52 characters, the last carrying 1 bit of key and 4 of zero padding.
  const bits = [...name].map((c) => 'abcdefghijklmnopqrstuvwxyz234567'.indexOf(c).toString(2).padStart(5, '0')).join('')
  assert.equal(bits.slice(0, 256), [...alice.publicKey].map((byte) => byte.toString(2).padStart(8, '0')).join(''))
  assert.equal(bits.slice(256), '0000')
})

test('a browsed service counts only if its TXT address and key agree', () => {
  assert.deepEqual(parseMdnsService({ txt: mdnsTxt(aliceAddress, alice.id) }), {
    address: aliceAddress, host: '192.168.1.5', port: 8008, key: alice.id,
  })
  const junk: unknown[] = [
    undefined, null, 'key=x', {},
    { key: alice.id },
    { address: aliceAddress },
    { key: bob.id, address: aliceAddress },
    { key: alice.id, address: 'hello' },
    { key: alice.id, address: `${aliceAddress};`.repeat(10) },
    { key: 'junk', address: aliceAddress },
    { key: [alice.id], address: [aliceAddress] },
    Object.create({ key: alice.id, address: aliceAddress }), // inherited, not its own
  ]
  for (const txt of junk) assert.equal(parseMdnsService({ txt }), null, JSON.stringify(txt))
})

async function mdnsOrSkip(t: TestContext): Promise<number | null> {
  const probe = await loopbackMulticastWorks()
  if (!probe.ok) {
    t.skip(`multicast on the loopback interface is unavailable here: ${probe.reason}`)
    return null
  }
  return freeUdpPort()
}

function mdnsOnly(t: TestContext, identity = generateIdentity(), port: number, mdnsPort: number): LanDiscovery {
  const discovery = createLanDiscovery({
    identity, caps: MAIN_NETWORK_CAPS, port, host: '127.0.0.1',
    legacy: false, encrypted: false, mdns: { interface: '127.0.0.1', port: mdnsPort },
  })
  t.after(() => discovery.stop())
  return discovery
}

test('two instances find each other over mDNS on the loopback interface', { timeout: 15_000 }, async (t) => {
  const mdnsPort = await mdnsOrSkip(t)
  if (mdnsPort === null) return
  const aliceSide = mdnsOnly(t, alice, 9021, mdnsPort)
  const bobSide = mdnsOnly(t, bob, 9022, mdnsPort)
  const aliceHears = recordPeers(aliceSide)
  const found = Promise.all([nextPeer(aliceSide, (p) => p.key === bob.id), nextPeer(bobSide, (p) => p.key === alice.id)])
  await Promise.all([aliceSide.start(), bobSide.start()])
  const [aliceFound, bobFound] = await found

  assert.equal(aliceFound.address, formatNetShsAddress('127.0.0.1', 9022, bob.id))
  assert.equal(aliceFound.source, 'mdns')
  assert.equal(aliceFound.from.address, '127.0.0.1')
  assert.equal(bobFound.address, formatNetShsAddress('127.0.0.1', 9021, alice.id))
  assert.ok(aliceHears.every((peer) => peer.key !== alice.id), 'never itself')
})

test('junk _ssb._tcp services on the wire are ignored', { timeout: 15_000 }, async (t) => {
  const mdnsPort = await mdnsOrSkip(t)
  if (mdnsPort === null) return
  // Someone else's responder, publishing three bad services and one good one. They are
  // all its answers to a query, so they reach us in one packet, the good one with the bad.
  const stranger = new Bonjour({ interface: '127.0.0.1', port: mdnsPort, bind: '0.0.0.0' } as ConstructorParameters<typeof Bonjour>[0], () => {})
  t.after(() => new Promise<void>((resolve) => stranger.unpublishAll(() => stranger.destroy(() => resolve()))))
  const carol = generateIdentity()
  const services = [
    { name: 'mismatch', txt: { key: carol.id, address: formatNetShsAddress('127.0.0.1', 1, bob.id) } },
    { name: 'garbage', txt: { key: '@@@', address: 'net:::~shs:' } },
    { name: 'bare', txt: {} },
    { name: 'good', txt: mdnsTxt(formatNetShsAddress('127.0.0.1', 9031, carol.id), carol.id) },
  ].map(({ name, txt }) => stranger.publish({ name, type: MDNS_SERVICE_TYPE, port: 9031, txt }))
  await Promise.all(services.map((service) => once(service, 'up')))

  const discovery = mdnsOnly(t, generateIdentity(), 9032, mdnsPort)
  const heard = recordPeers(discovery)
  const good = nextPeer(discovery, (peer) => peer.key === carol.id)
  await discovery.start()
  await good
  assert.deepEqual(heard.map((peer) => peer.address), [formatNetShsAddress('127.0.0.1', 9031, carol.id)])
})

test('an mDNS socket that cannot bind fails start() without sending anything', { timeout: 10_000 }, async (t) => {
  // 203.0.113.1 (TEST-NET-3) is no address of this machine's; bonjour-service sends nothing
  // before its socket is bound, and we publish and browse only after that.
  const discovery = createLanDiscovery({
    identity: generateIdentity(), caps: MAIN_NETWORK_CAPS, port: 9041, host: '127.0.0.1',
    legacy: false, encrypted: false, mdns: { interface: '127.0.0.1', port: await freeUdpPort(), bind: '203.0.113.1' },
  })
  t.after(() => discovery.stop())
  await assert.rejects(discovery.start(), { code: 'EADDRNOTAVAIL' })
})
