import { isIP } from 'node:net'
import { MAIN_NETWORK_CAPS, type Identity } from '@hearsay/keys'
import { createLanDiscovery, type DiscoveredPeer, type LanDiscoveryOptions } from '@hearsay/discovery'
import type { Peer, PeerEvent } from '@hearsay/network'

/** How discovery is set up, beyond who we are and where we listen (tests narrow it to 127.0.0.1). */
export type LanOptions = Omit<LanDiscoveryOptions, 'identity' | 'caps' | 'port'>

/** At most this many dials of discovered peers at once: beacons are anyone's to send. */
const MAX_PENDING_DIALS = 2
/** The reason the connection manager gives when the owner disconnects a peer. */
const DISCONNECTED_ON_REQUEST = 'disconnected on request'

/**
 * Whether a peer listening on `host` can be reached from the LAN: not when it listens on
 * loopback only (then announcing it would send others to an address they cannot dial, and
 * peers sharing this machine, tests among them, would find each other).
 */
export function reachableFromLan(host: string): boolean {
  if (host === 'localhost' || host === '::1') return false
  return !(isIP(host) === 4 && host.startsWith('127.'))
}

/**
 * Announces `peer` on the LAN (both ssb-lan beacons and mDNS) and dials the peers it hears of
 * as kind `lan`, while it has room for more connections; what then replicates is up to the
 * usual hops rules. A wildcard `host` (0.0.0.0, ::) announces each interface's own address.
 * A peer the owner disconnected is not redialled from its beacons until it is connected again.
 */
export async function startLanDiscovery(options: {
  peer: Peer
  identity: Identity
  caps?: string
  host: string
  maxConnections: number
  lan?: LanOptions
}): Promise<{ stop(): Promise<void> }> {
  const { peer } = options
  const port = Number(peer.address?.match(/^net:[^~]*:(\d+)~/)?.[1])
  if (!Number.isInteger(port)) throw new Error('LAN discovery needs a listening peer')
  const wildcard = options.host === '0.0.0.0' || options.host === '::'
  const discovery = createLanDiscovery({
    identity: options.identity,
    caps: options.caps ?? MAIN_NETWORK_CAPS,
    port,
    ...(wildcard || isIP(options.host) === 0 ? {} : { host: options.host }),
    ...options.lan,
  })
  let pending = 0
  const declined = new Set<string>()
  const watch = (event: PeerEvent) => {
    if (event.event === 'disconnected' && event.reason === DISCONNECTED_ON_REQUEST) declined.add(event.peer)
    else if (event.event === 'connected') declined.delete(event.peer)
  }
  peer.on('event', watch)
  discovery.on('peer', (found: DiscoveredPeer) => {
    if (declined.has(found.key)) return
    const others = peer.connections.filter((connection) => !connection.local)
    const existing = others.find((connection) => connection.id === found.key)
    if (existing) {
      // It dialed us: connecting again dials nothing, and marks it as a LAN peer. One we dialed
      // keeps the kind we dialed it as (a beacon is anyone's claim).
      if (existing.inbound) peer.connect(found.address, 'lan').catch(() => undefined)
      return
    }
    if (pending >= MAX_PENDING_DIALS || others.length >= options.maxConnections) return
    pending++
    // A failed dial is reported by the peer (connect-failed); the beacon comes again later.
    peer.connect(found.address, 'lan').catch(() => undefined).finally(() => pending--)
  })
  // Send failures and socket hiccups: discovery carries on, and they say nothing about our data.
  discovery.on('warning', () => undefined)
  try {
    await discovery.start()
  } catch (err) {
    peer.off('event', watch)
    throw err
  }
  return {
    async stop() {
      peer.off('event', watch)
      await discovery.stop()
    },
  }
}
