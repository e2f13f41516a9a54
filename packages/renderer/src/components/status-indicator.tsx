import { useState } from 'react'
import { shortId, type PeerKind, type StatusView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive } from '../app/hooks.ts'

export const kindLabels: Record<PeerKind, string> = { lan: 'LAN', pub: 'pub', room: 'room', manual: 'manual', inbound: 'inbound' }

/** Connected peers by kind, replication and indexing, from statusLive. */
export function StatusIndicator() {
  const client = useClient()
  const [status, setStatus] = useState<StatusView | null>(null)
  const [open, setOpen] = useState(false)
  useLive(() => client.statusLive(), setStatus, [client])

  const peers = status?.peers.length ?? 0
  const byKind = new Map<PeerKind, number>()
  for (const peer of status?.peers ?? []) byKind.set(peer.kind, (byKind.get(peer.kind) ?? 0) + 1)
  const indexing = status?.indexing.active ? ` · indexing ${Math.round(status.indexing.progress * 100)}%` : ''
  const summary = status ? `${peers} ${peers === 1 ? 'peer' : 'peers'}${indexing}` : 'status…'

  return (
    <div className="status">
      <button type="button" className={`status-button${peers > 0 ? ' online' : ''}`} aria-expanded={open} aria-controls="status-details" aria-label={`Peer status: ${summary}`} onClick={() => setOpen((shown) => !shown)}>
        <span className="status-dot" aria-hidden="true" />
        {summary}
      </button>
      {open && status && (
        <div className="status-details" id="status-details" role="region" aria-label="Peer status details">
          <p>
            {peers === 0
              ? 'No peers connected: you can still read and post; it replicates when a peer is reached.'
              : [...byKind].map(([kind, count]) => `${count} ${kindLabels[kind]}`).join(' · ')}
          </p>
          <ul>
            {status.peers.map((peer) => (
              <li key={peer.id + peer.address}>
                {peer.name ?? shortId(peer.id)} ({kindLabels[peer.kind]}) — {peer.messagesReceived} messages received
              </li>
            ))}
          </ul>
          <p>
            Replicating {status.replication.wantedFeeds} feeds · {status.replication.messagesPerSecond.toFixed(1)} messages/s
          </p>
          <p>
            {status.indexing.active ? (
              <>
                Indexing <progress max={1} value={status.indexing.progress} aria-label="Indexing progress" /> {Math.round(status.indexing.progress * 100)}%
              </>
            ) : (
              'Indexes up to date'
            )}
          </p>
        </div>
      )}
    </div>
  )
}
