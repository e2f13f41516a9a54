import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { isIPv4 } from 'node:net'

/** Where one round of beacons goes, and which of our addresses to announce there. */
export interface BroadcastTarget {
  /** The destination IP (a broadcast address by default; any IPv4 address if configured). */
  readonly address: string
  /** Our own IP on the network that destination reaches: what the beacon announces. */
  readonly host: string
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0)
}

function fromInt(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.')
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

function ipv4Interfaces(interfaces: Interfaces): NetworkInterfaceInfo[] {
  return Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((info) => info.family === 'IPv4' && isIPv4(info.address) && isIPv4(info.netmask))
}

/**
 * One target per external IPv4 interface: its subnet's broadcast address, announcing that
 * interface's own address. ssb-lan broadcasts on one interface only (the first private
 * one), so a laptop on Wi-Fi and Ethernet at once is found on just one of them; we cover
 * each. Point-to-point subnets (/31, /32: VPNs, some containers) have no broadcast and are
 * skipped. Read afresh each round, since interfaces come and go (Wi-Fi, VPNs).
 */
export function defaultBroadcastTargets(interfaces: Interfaces = networkInterfaces()): BroadcastTarget[] {
  const targets: BroadcastTarget[] = []
  for (const info of ipv4Interfaces(interfaces)) {
    if (info.internal) continue
    const mask = toInt(info.netmask)
    if (mask >>> 0 >= 0xfffffffe) continue
    const broadcast = fromInt((toInt(info.address) | ~mask) >>> 0)
    if (!targets.some((target) => target.address === broadcast)) targets.push({ address: broadcast, host: info.address })
  }
  return targets
}

/**
 * Our address on the subnet that contains `destination` (any interface, loopback included,
 * so a beacon sent to 127.0.0.1 announces 127.0.0.1), else the first external IPv4
 * address, else null when this machine has no address to announce.
 */
export function hostFacing(destination: string, interfaces: Interfaces = networkInterfaces()): string | null {
  const all = ipv4Interfaces(interfaces)
  if (isIPv4(destination)) {
    const target = toInt(destination)
    for (const info of all) {
      const mask = toInt(info.netmask)
      if (((toInt(info.address) ^ target) & mask) >>> 0 === 0) return info.address
    }
  }
  return all.find((info) => !info.internal)?.address ?? null
}
