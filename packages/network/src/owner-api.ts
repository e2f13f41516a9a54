import type { Source } from 'pull-stream'
import type { FeedId } from '@hearsay/keys'
import { asyncMethod, sourceMethod } from './api.ts'
import { PEER_KINDS, type ConnectionKind, type PeerKind, type RememberedPeer } from './connections.ts'
import { pushable } from './pull.ts'
import type { PeerStatus } from './status.ts'
import { RpcArgumentError } from './streams.ts'

/** What the owner-only methods drive: the running Peer. */
export interface OwnerControls {
  status(): PeerStatus
  statusStream(): Source<PeerStatus>
  connect(address: string, kind?: PeerKind): Promise<{ id: FeedId; address: string }>
  disconnect(target: string): number
  remember(address: string, kind?: PeerKind): Promise<RememberedPeer>
  forget(address: string): Promise<boolean>
  rememberedPeers(): RememberedPeer[]
  connectedPeers(): Array<{ id: FeedId; address: string; kind: ConnectionKind; inbound: boolean; connectedAt: number }>
  /** Calls back on every change of connections or remembered peers; returns its remover. */
  onConnectionChange(listener: () => void): () => void
}

/** ssb-conn's entry shape: `[address, data]`. */
type ConnEntry = [string, Record<string, unknown>]

/**
 * The methods only our own key may call (see manifest.ts): `status` and `statusStream` as
 * ssb-server names its status, and `conn.*` named as ssb-conn does.
 */
export function createOwnerApi(controls: OwnerControls) {
  // An address that is not one, or is our own, is the caller's mistake: an argument error.
  const argued = <A extends unknown[], T>(fn: (...args: A) => Promise<T>) => async (...args: A): Promise<T> => {
    try {
      return await fn(...args)
    } catch (err) {
      throw err instanceof RangeError ? new RpcArgumentError(err.message) : err
    }
  }
  const connectedEntries = (): ConnEntry[] =>
    controls.connectedPeers().map((peer) => [
      peer.address,
      { key: peer.id, state: 'connected', type: peer.kind, inbound: peer.inbound, hubBirth: peer.connectedAt },
    ])
  return {
    status: () => controls.status(),
    statusStream: sourceMethod(() => controls.statusStream()),
    conn: {
      connect: asyncMethod(argued(async (address, data) => controls.connect(addressOf(address, 'conn.connect'), kindOf(data, 'conn.connect')))),
      disconnect: asyncMethod(argued(async (target) => {
        if (typeof target !== 'string') throw new RpcArgumentError('conn.disconnect takes an address or a feed id')
        return controls.disconnect(target)
      })),
      remember: asyncMethod(argued(async (address, data) => controls.remember(addressOf(address, 'conn.remember'), kindOf(data, 'conn.remember')))),
      forget: asyncMethod(argued(async (address) => controls.forget(addressOf(address, 'conn.forget')))),
      dbPeers: (): ConnEntry[] =>
        controls.rememberedPeers().map((peer) => [
          peer.address,
          { key: peer.key, type: peer.kind, birth: peer.birth, failure: peer.failures, lastSuccess: peer.lastSuccess, lastAttempt: peer.lastAttempt, autoconnect: true },
        ]),
      // As ssb-conn's: every connected peer at once, then again after each change.
      peers: sourceMethod(() => {
        const out = pushable<ConnEntry[]>(() => remove())
        const remove = controls.onConnectionChange(() => out.push(connectedEntries()))
        out.push(connectedEntries())
        return out.source
      }),
    },
  }
}

function addressOf(value: unknown, method: string): string {
  if (typeof value !== 'string') throw new RpcArgumentError(`${method} takes a net:HOST:PORT~shs:KEY address`)
  return value
}

/** ssb-conn's optional `data` carries the peer's `type`; ours are PEER_KINDS. */
function kindOf(data: unknown, method: string): PeerKind | undefined {
  if (data === undefined || data === null) return undefined
  const type = typeof data === 'object' ? (data as { type?: unknown }).type : data
  if (type === undefined) return undefined
  if (!PEER_KINDS.includes(type as PeerKind)) throw new RpcArgumentError(`${method}: type must be one of ${PEER_KINDS.join(', ')}`)
  return type as PeerKind
}
