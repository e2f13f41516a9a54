import { feedPublicKey, toFeedId, type FeedId } from '@hearsay/keys'

/** A multiserver address split into its parts: `net:HOST:PORT~shs:KEY`. */
export interface NetShsAddress {
  host: string
  port: number
  /** The feed id whose key the remote must prove it holds. */
  feed: FeedId
}

/** `net:HOST:PORT~shs:KEY`, the address ssb-server and its tools print and dial. */
export function formatAddress({ host, port, feed }: NetShsAddress): string {
  return `net:${host}:${port}~shs:${feedPublicKey(feed).toString('base64')}`
}

/**
 * Parses the first `net:…~shs:…` address of a (possibly `;`-separated) multiserver address;
 * throws a RangeError naming the address when there is none.
 */
export function parseAddress(address: string): NetShsAddress {
  for (const part of address.split(';')) {
    const match = /^net:(.+):(\d{1,5})~shs:([A-Za-z0-9+/]{43}=)$/.exec(part.trim())
    if (!match) continue
    const port = Number(match[2])
    const key = Buffer.from(match[3]!, 'base64')
    if (port < 1 || port > 65535 || key.length !== 32 || key.toString('base64') !== match[3]) continue
    return { host: match[1]!, port, feed: toFeedId(key) }
  }
  throw new RangeError(`not a net:HOST:PORT~shs:KEY address: ${JSON.stringify(address.length > 200 ? `${address.slice(0, 200)}…` : address)}`)
}
