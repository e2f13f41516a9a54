import { parseNetShsAddress, type NetShsAddress } from '@hearsay/keys'

/**
 * The first `net:HOST:PORT~shs:KEY` of a (possibly `;`-separated) multiserver address; throws a
 * RangeError naming the address when there is none, since a peer to dial was asked for.
 */
export function parseAddress(address: string): NetShsAddress {
  const parsed = parseNetShsAddress(address)
  if (!parsed) throw new RangeError(`not a net:HOST:PORT~shs:KEY address: ${JSON.stringify(address.length > 200 ? `${address.slice(0, 200)}…` : address)}`)
  return parsed
}
