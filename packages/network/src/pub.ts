import type { FeedId, Identity } from '@hearsay/keys'
import type { Store } from '@hearsay/store'

/** Where a pub says others reach it, as ssb-server's `pub` message carries it. */
export interface PubAddress {
  host: string
  port: number
  key: FeedId
}

/**
 * Publishes `{type: 'pub', address: {host, port, key}}` (what ssb-server publishes for its
 * public address) unless our latest `pub` message for our own key already says the same, so a
 * restart with the same address adds nothing. Returns whether it published.
 */
export async function announcePub(store: Store, identity: Identity, address: { host: string; port: number }): Promise<boolean> {
  const wanted: PubAddress = { host: address.host, port: address.port, key: identity.id }
  for await (const message of store.readFeed(identity.id, { reverse: true })) {
    const content = message.value.content as { type?: unknown; address?: Partial<PubAddress> } | string
    if (typeof content !== 'object' || content.type !== 'pub' || content.address?.key !== identity.id) continue
    if (content.address.host === wanted.host && content.address.port === wanted.port) return false
    break
  }
  await store.publish(identity, { type: 'pub', address: wanted })
  return true
}
