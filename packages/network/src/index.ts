export { Peer, type PeerOptions, type PeerConnection, type PeerPlugin, type PluginCaller } from './peer.ts'
export type { PeerEvent } from './events.ts'
export {
  Transport, createShs, freePort, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_PER_ADDRESS,
  type Connection, type TransportOptions, type HandshakeOptions, type InboundLimits,
} from './transport.ts'
export { parseAddress, parsePeerAddress } from './address.ts'
export { formatTunnelAddress, parseTunnelAddress, type TunnelAddress } from './tunnel-address.ts'
export { Tunnels, TUNNEL_MANIFEST } from './tunnel.ts'
export { MANIFEST, PEER_METHODS, permissionsFor } from './manifest.ts'
export { createApi, asyncMethod, sourceMethod, rpcError, codeOfRpcError, type ApiContext } from './api.ts'
export { boundedCodec, DEFAULT_MAX_FRAME } from './codec.ts'
export { HistoryStreamReplication, holdable, type ReplicationStrategy, type ReplicationPeer } from './replication.ts'
export { EbtReplication, EBT_REQUEST } from './ebt.ts'
export { StoreNotifier, historyStream, logStream, parseHistoryStreamArgs, parseLogStreamArgs } from './streams.ts'
export { listenLocal, connectLocal, type LocalClient, type LocalListener } from './local.ts'
export {
  ConnectionManager, DEFAULT_MAX_CONNECTIONS, PEER_KINDS,
  type ConnectionKind, type ConnectionLimits, type ManagedConnection, type PeerKind, type RememberedPeer,
} from './connections.ts'
export { StatusTracker, type PeerStatus, type ConnectedPeerStatus, type FeedProgress } from './status.ts'
export { metered, newTraffic, type Traffic } from './traffic.ts'
export { Invites, InviteError, parseInviteCode, formatInviteCode, redeemInvite, isPublicHost, type GuestAccess, type InviteRecord, type ParsedInvite, type Redeemed } from './invite.ts'
export { announcePub, type PubAddress } from './pub.ts'
