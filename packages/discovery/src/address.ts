import { isIP } from 'node:net'
import { feedPublicKey, isFeedId, type FeedId } from '@hearsay/keys'

/** One dialable peer: the `net:HOST:PORT~shs:KEY` address and the parts it is made of. */
export interface NetShsAddress {
  /** `net:HOST:PORT~shs:KEY`, exactly one address (never a `;`-separated list). */
  readonly address: string
  readonly host: string
  readonly port: number
  readonly key: FeedId
}

// Digits only, no sign, no leading zero: one port has exactly one spelling, so the
// de-duplication of repeated beacons cannot be dodged by re-spelling the same address.
const PORT = /^[1-9][0-9]{0,4}$/

/** `net:HOST:PORT~shs:KEY`, the form ssb-lan, ssb-local and ssb-server announce and dial. */
export function formatNetShsAddress(host: string, port: number, key: FeedId): string {
  return `net:${host}:${port}~shs:${feedPublicKey(key).toString('base64')}`
}

/**
 * The first usable `net:HOST:PORT~shs:KEY` in a multiserver address, or null.
 *
 * A peer may announce several `;`-separated addresses (ssb-server joins every transport of
 * a scope, e.g. `net:…~shs:…;ws://…~shs:…`); we can only dial `net`, so we take the first
 * `net` one whose parts are all well formed. HOST must be an IP literal: a beacon comes from
 * the LAN, and a name would let it steer us through DNS to anywhere. Addresses that can
 * never be dialled (unspecified, multicast, the limited broadcast) are refused too.
 */
export function parseNetShsAddress(text: string): NetShsAddress | null {
  for (const part of text.split(';')) {
    const protocols = part.split('~')
    if (protocols.length !== 2) continue
    const [net, shs] = protocols as [string, string]
    if (!net.startsWith('net:') || !shs.startsWith('shs:')) continue

    const hostPort = net.slice('net:'.length)
    const colon = hostPort.lastIndexOf(':')
    if (colon <= 0) continue
    const host = hostPort.slice(0, colon)
    const portText = hostPort.slice(colon + 1)
    if (!PORT.test(portText)) continue
    const port = Number(portText)
    if (port > 65535 || !isDialableHost(host)) continue

    // `shs:KEY` only: more data after the key (`shs:KEY:SEED`) is an invite, not a beacon.
    const key = `@${shs.slice('shs:'.length)}.ed25519`
    if (!isFeedId(key)) continue
    return { address: `net:${host}:${port}~shs:${shs.slice('shs:'.length)}`, host, port, key }
  }
  return null
}

function isDialableHost(host: string): boolean {
  const family = isIP(host)
  if (family === 4) {
    const first = Number(host.split('.')[0])
    if (host === '0.0.0.0' || host === '255.255.255.255') return false
    return first < 224 // 224/4 is multicast, 240/4 reserved
  }
  if (family === 6) {
    const lower = host.toLowerCase()
    return lower !== '::' && !lower.startsWith('ff')
  }
  return false
}
