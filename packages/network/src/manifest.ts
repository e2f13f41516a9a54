import type { Manifest, Permissions } from 'muxrpc'

/**
 * The RPC surface, named and shaped like ssb-server's so its tools (ssb-client, sbot CLIs) can
 * drive Hearsay: ssb-db's core methods, then gossip, private and friends.
 */
export const MANIFEST = {
  manifest: 'sync',
  whoami: 'sync',
  publish: 'async',
  get: 'async',
  createHistoryStream: 'source',
  createLogStream: 'source',
  latestSequence: 'async',
  gossip: {
    ping: 'duplex',
    connect: 'async',
  },
  private: {
    publish: 'async',
    unbox: 'sync',
  },
  friends: {
    follow: 'async',
    isFollowing: 'async',
    block: 'async',
    isBlocking: 'async',
  },
} as const satisfies Manifest

/** What a peer that is not us may call: replication and gossip, as ssb-server allows anonymous peers. */
export const PEER_METHODS = ['manifest', 'createHistoryStream', 'gossip.ping'] as const

/** Our own key (a local client) may call everything; anyone else only PEER_METHODS. */
export function permissionsFor(local: boolean): Permissions | null {
  return local ? null : { allow: [...PEER_METHODS] }
}
