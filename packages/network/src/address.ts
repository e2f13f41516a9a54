import { parseNetShsAddress, type FeedId, type NetShsAddress } from '@hearsay/keys'
import { parseTunnelAddress } from './tunnel-address.ts'

/**
 * The first `net:HOST:PORT~shs:KEY` of a (possibly `;`-separated) multiserver address; throws a
 * RangeError naming the address when there is none, since a peer to dial was asked for.
 */
export function parseAddress(address: string): NetShsAddress {
  const parsed = parseNetShsAddress(address)
  if (!parsed) throw new RangeError(`not a net:HOST:PORT~shs:KEY address: ${JSON.stringify(address.length > 200 ? `${address.slice(0, 200)}…` : address)}`)
  return parsed
}

/**
 * A peer to dial and remember: a `net:HOST:PORT~shs:KEY` address or, for an attendant of a room,
 * a `tunnel:@ROOM:@TARGET~shs:TARGET` one. Throws a RangeError naming the address for anything else.
 */
export function parsePeerAddress(address: string): { address: string; key: FeedId } {
  const parsed = parseNetShsAddress(address) ?? parseTunnelAddress(address)
  if (!parsed) throw new RangeError(`not a net:HOST:PORT~shs:KEY address (nor tunnel:@ROOM:@TARGET~shs:TARGET): ${JSON.stringify(address.length > 200 ? `${address.slice(0, 200)}…` : address)}`)
  return { address: parsed.address, key: parsed.key }
}
