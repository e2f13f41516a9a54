import { isIP } from 'node:net'
import { netShsAddresses, type NetShsAddress } from '@hearsay/keys'

/**
 * The first `net:HOST:PORT~shs:KEY` of an announced address that we may dial, or null.
 * HOST must be an IP literal: a beacon comes from the LAN, and a name would let it steer us
 * through DNS to anywhere. Addresses that can never be dialled (unspecified, multicast, the
 * limited broadcast) are refused too.
 */
export function parseLanAddress(text: string): NetShsAddress | null {
  for (const address of netShsAddresses(text)) if (isDialableHost(address.host)) return address
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
