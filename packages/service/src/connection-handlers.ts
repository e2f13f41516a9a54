// The client API's Connections page: connected and remembered peers, disconnect and forget.
// (Connecting by address and redeeming invites are `connect` and `useInvite`.)
import type { ClientApiSpec, ConnectionsView, Handlers } from '@hearsay/client-api'
import { guarded, stringArg, type HandlerContext } from './handlers.ts'

type ConnectionHandlers = Pick<Handlers<ClientApiSpec>, 'connections' | 'disconnect' | 'forgetPeer'>

export function connectionHandlers(context: HandlerContext): ConnectionHandlers {
  return {
    connections: guarded(async (): Promise<ConnectionsView> => {
      const session = await context.session()
      const { peer } = session
      const status = peer.status()
      const connectedView = await context.status.view((feeds) => session.views.authors(feeds))
      const remembered = peer.rememberedPeers()
      const names = await session.views.authors(remembered.map((known) => known.key))
      const connectedKeys = new Set(connectedView.peers.map((connected) => connected.id))
      return {
        address: peer.address,
        connected: connectedView.peers,
        known: remembered.map((known) => ({
          id: known.key,
          name: names[known.key]?.name ?? null,
          address: known.address,
          kind: known.kind,
          connected: connectedKeys.has(known.key),
          lastSuccess: known.lastSuccess,
          failures: known.failures,
        })),
        replication: {
          wantedFeeds: status.replication.wantedFeeds,
          feedsBehind: status.replication.feedsBehind,
          messagesPerSecond: status.replication.messagesPerSecond,
        },
      }
    }),

    disconnect: guarded(async (target: unknown) => {
      const session = await context.session()
      return session.peer.disconnect(stringArg(target, 'peer'))
    }),

    forgetPeer: guarded(async (address: unknown) => {
      const session = await context.session()
      return session.peer.forget(stringArg(address, 'address'))
    }),
  }
}
