// LAN discovery wired into the app, on 127.0.0.1 only: each app's beacons go to the other's
// UDP ports on 127.0.0.1 (two sockets sharing a port would not both hear a unicast packet),
// mDNS off. The real LAN, with broadcasts and mDNS, is apps/pub/src/lan-netns.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { formatNetShsAddress, toFeedId } from '@hearsay/keys'
import { encodeLegacyBeacon } from '@hearsay/discovery'
import { fromPullSource, type PullSource } from '@hearsay/blobs'
import { freePort, type PeerEvent, type PeerStatus } from '@hearsay/network'
import { freeUdpPort, loopbackSender } from '@hearsay/discovery/testing/net'
import { reachableFromLan, type LanOptions } from './lan.ts'
import { firstMatching, startTestApp, waitForSequence } from './testing.ts'

test('discovery is on by default only where the LAN can reach us', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(reachableFromLan(host), false, host)
  for (const host of ['0.0.0.0', '::', '192.168.1.20', '10.77.0.1', 'fe80::1']) assert.equal(reachableFromLan(host), true, host)
})

function loopbackLan(ports: { legacy: number; encrypted: number }, to: { legacy: number; encrypted: number }): LanOptions {
  return {
    legacy: { port: ports.legacy, sendPort: to.legacy },
    encrypted: { port: ports.encrypted, sendPort: to.encrypted },
    mdns: false, bind: '127.0.0.1', broadcast: ['127.0.0.1'], interval: 200,
  }
}

test('two apps meet by their beacons alone, as LAN peers, and replicate; a flood of beacons and our own echo are no harm', { timeout: 30_000 }, async (t) => {
  const [aLegacy, aEncrypted, bLegacy, bEncrypted] = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()])
  const aliceEvents: PeerEvent[] = []
  const alice = await startTestApp(t, {
    lan: loopbackLan({ legacy: aLegacy, encrypted: aEncrypted }, { legacy: bLegacy, encrypted: bEncrypted }),
    onEvent: (event) => aliceEvents.push(event),
  })

  // Before Bob is there: beacons for 2000 made-up peers at a closed port, and Alice's own.
  const send = await loopbackSender(t)
  const closed = await freePort('127.0.0.1')
  const flood = Array.from({ length: 2000 }, () => encodeLegacyBeacon(formatNetShsAddress('127.0.0.1', closed, toFeedId(randomBytes(32)))))
  await Promise.all([...flood, encodeLegacyBeacon(alice.peer.address!)].map((packet) => send(packet, aLegacy)))

  const bob = await startTestApp(t, { lan: loopbackLan({ legacy: bLegacy, encrypted: bEncrypted }, { legacy: aLegacy, encrypted: aEncrypted }) })
  await bob.handlers.setFollow(alice.id, true)
  const post = await alice.handlers.publishPost({ text: 'found you' })
  await waitForSequence(bob, alice.id, (await alice.store.get(post.id))!.value.sequence)

  // Whoever dialed first, each marks the other as a LAN peer once it has heard its beacon too.
  for (const [self, other] of [[alice, bob], [bob, alice]] as const) {
    const seen = await firstMatching(fromPullSource(self.peer.statusStream() as PullSource<PeerStatus>), (status) =>
      status.peers.some((entry) => entry.id === other.id && entry.kind !== 'inbound'))
    assert.equal(seen.peers.find((entry) => entry.id === other.id)?.kind, 'lan')
  }
  // Made-up peers are dialled a few at a time, not all at once: most of the flood was dropped.
  const failedDials = aliceEvents.filter((event) => event.event === 'connect-failed').length
  // (Measured: about 8 here; some 250 without the bound, the rest lost from the UDP buffer.)
  assert.ok(failedDials <= 40, `${failedDials} dials for ${flood.length} beacons`)
  assert.ok(!aliceEvents.some((event) => event.event === 'connected' && event.peer === alice.id), 'alice dialled herself')
})
