// The network-level names every transport agrees on: the caps key that tells SSB networks apart,
// and the `net:HOST:PORT~shs:KEY` address that ssb-server, ssb-lan and pubs print and dial.
import { decodeCanonicalBase64 } from './base64.ts'
import { feedPublicKey, isFeedId, type FeedId } from './refs.ts'

/** The secret-handshake caps key of the main Scuttlebutt network (ssb-caps' `shs`). */
export const MAIN_NETWORK_CAPS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

/** A caps key as its 32 bytes; a private network uses its own key to keep others out. */
export function capsKey(caps: string | Uint8Array = MAIN_NETWORK_CAPS): Buffer {
  const bytes = typeof caps === 'string' ? decodeCanonicalBase64(caps, 32) : caps.length === 32 ? Buffer.from(caps) : null
  if (!bytes) throw new RangeError('a caps key must be 32 bytes, given as canonical base64 or bytes')
  return bytes
}

/** One dialable peer: the `net:HOST:PORT~shs:KEY` address and the parts it is made of. */
export interface NetShsAddress {
  /** Exactly one address, in its canonical spelling (never a `;`-separated list). */
  readonly address: string
  readonly host: string
  readonly port: number
  /** The feed whose key the remote must prove it holds. */
  readonly key: FeedId
}

// Digits only, no sign, no leading zero: one port has one spelling, so an address does too.
const PORT = /^[1-9][0-9]{0,4}$/

export function formatNetShsAddress(host: string, port: number, key: FeedId): string {
  return `net:${host}:${port}~shs:${feedPublicKey(key).toString('base64')}`
}

/**
 * Each well-formed `net:HOST:PORT~shs:KEY` of a multiserver address, in order. A peer may
 * announce several `;`-separated addresses (ssb-server joins every transport, e.g.
 * `net:…~shs:…;ws://…~shs:…`); only `net` ones are dialled here. `shs:KEY` must be the whole
 * second part: `shs:KEY:SEED` is an invite, not an address.
 */
export function* netShsAddresses(text: string): Generator<NetShsAddress> {
  for (const part of text.split(';')) {
    const protocols = part.trim().split('~')
    if (protocols.length !== 2) continue
    const [net, shs] = protocols as [string, string]
    if (!net.startsWith('net:') || !shs.startsWith('shs:')) continue
    const hostPort = net.slice('net:'.length)
    const colon = hostPort.lastIndexOf(':')
    if (colon <= 0) continue
    const portText = hostPort.slice(colon + 1)
    if (!PORT.test(portText) || Number(portText) > 65535) continue
    const key = `@${shs.slice('shs:'.length)}.ed25519`
    if (!isFeedId(key)) continue
    const host = hostPort.slice(0, colon)
    const port = Number(portText)
    yield { address: formatNetShsAddress(host, port, key), host, port, key }
  }
}

/** The first `net:HOST:PORT~shs:KEY` of a multiserver address, or null. */
export function parseNetShsAddress(text: string): NetShsAddress | null {
  for (const address of netShsAddresses(text)) return address
  return null
}
