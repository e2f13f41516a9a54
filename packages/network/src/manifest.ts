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
  // ssb-ebt's replication stream (version 3, classic feeds).
  ebt: {
    replicate: 'duplex',
  },
  // Our own key only (owner-api.ts): ssb-server's status, ssb-conn's names.
  status: 'sync',
  statusStream: 'source',
  conn: {
    connect: 'async',
    disconnect: 'async',
    remember: 'async',
    forget: 'async',
    dbPeers: 'sync',
    peers: 'source',
  },
  // Our own key only: ssb-invite's create, and use (with a code: redeem it, as ssb-invite's accept).
  invite: {
    create: 'async',
    use: 'async',
  },
} as const satisfies Manifest

/** What a peer that is not us may call: replication and gossip, as ssb-server allows anonymous peers. */
export const PEER_METHODS = ['manifest', 'createHistoryStream', 'ebt.replicate', 'gossip.ping'] as const

/** Our own key (a local client) may call everything; anyone else only PEER_METHODS and the plugins' `extra` ones. */
export function permissionsFor(local: boolean, extra: readonly string[] = []): Permissions | null {
  return local ? null : { allow: [...PEER_METHODS, ...extra] }
}
