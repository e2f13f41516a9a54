import { useId, useState, type FormEvent } from 'react'
import { shortId, type ConnectionsView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction, useLive, useLoaded } from '../app/hooks.ts'
import { hrefFor } from '../routes.ts'
import { ErrorNote, Loading, formatBytes, timeAgo } from './common.tsx'
import { kindLabels } from './status-indicator.tsx'

/** Connected and remembered peers; connecting by address, redeeming an invite, disconnecting, forgetting. */
export function ConnectionsPage() {
  const client = useClient()
  const connections = useLoaded(() => client.connections(), [client])
  // Connections come and go by themselves: reload whenever the peer's status changes.
  useLive(() => client.statusLive(), () => connections.reload(), [client])
  const [error, setError] = useState<Error | null>(null)
  const act = (run: () => Promise<unknown>) => {
    setError(null)
    run().then(connections.reload, (err: Error) => setError(err))
  }
  return (
    <div className="page page-connections">
      <h1 className="page-title">Connections</h1>
      {error && <ErrorNote error={error} />}
      <AddPeer onDone={connections.reload} />
      {connections.error && <ErrorNote error={connections.error} action={{ label: 'Try again', run: connections.reload }} />}
      {connections.value ? <PeerLists view={connections.value} act={act} /> : !connections.error && <Loading label="Loading connections…" />}
    </div>
  )
}

function PeerLists({ view, act }: { view: ConnectionsView; act(run: () => Promise<unknown>): void }) {
  const client = useClient()
  return (
    <>
      <section aria-label="Replication" className="settings-section">
        <dl className="figures">
          <dt>Your address</dt>
          <dd className="peer-address">{view.address ?? 'not listening'}</dd>
          <dt>Feeds replicated</dt>
          <dd>{view.replication.wantedFeeds}</dd>
          <dt>Feeds behind a peer</dt>
          <dd>{view.replication.feedsBehind}</dd>
          <dt>Messages per second</dt>
          <dd>{view.replication.messagesPerSecond.toFixed(1)}</dd>
        </dl>
      </section>
      <section aria-label="Connected peers" className="settings-section">
        <h2>Connected ({view.connected.length})</h2>
        {view.connected.length === 0 ? (
          <p>No peer is connected.</p>
        ) : (
          <ul className="peer-list">
            {view.connected.map((peer) => (
              <li key={peer.id + peer.address} aria-label={`Connected peer ${peer.name ?? peer.id}`}>
                <a href={hrefFor({ page: 'profile', id: peer.id })}>{peer.name ?? shortId(peer.id)}</a>
                <span className="kind">{kindLabels[peer.kind]}</span>
                <span>
                  {peer.messagesReceived} messages received · {formatBytes(peer.bytesIn)} in, {formatBytes(peer.bytesOut)} out · since {timeAgo(peer.connectedAt)}
                </span>
                <button type="button" onClick={() => act(() => client.disconnect(peer.id))}>
                  Disconnect
                </button>
                <span className="peer-address">{peer.address}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Known peers" className="settings-section">
        <h2>Known ({view.known.length})</h2>
        {view.known.length === 0 ? (
          <p>No peer is remembered: redeem an invite, or peers found on the LAN and pubs appear here.</p>
        ) : (
          <ul className="peer-list">
            {view.known.map((peer) => (
              <li key={peer.address} aria-label={`Known peer ${peer.name ?? peer.id}`}>
                <a href={hrefFor({ page: 'profile', id: peer.id })}>{peer.name ?? shortId(peer.id)}</a>
                <span className="kind">{kindLabels[peer.kind]}</span>
                <span>
                  {peer.connected ? 'connected' : peer.lastSuccess ? `last connected ${timeAgo(peer.lastSuccess)}` : 'never connected'}
                  {peer.failures > 0 && ` · ${peer.failures} failed ${peer.failures === 1 ? 'try' : 'tries'}`}
                </span>
                {!peer.connected && (
                  <button type="button" onClick={() => act(() => client.connect(peer.address))}>
                    Connect
                  </button>
                )}
                <button type="button" onClick={() => act(() => client.forgetPeer(peer.address))}>
                  Forget
                </button>
                <span className="peer-address">{peer.address}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  )
}

/** One field for either a multiserver address or an invite code, told apart by their shape. */
function AddPeer({ onDone }: { onDone(): void }) {
  const client = useClient()
  const id = useId()
  const [text, setText] = useState('')
  const { busy, error, run } = useAction()
  const [done, setDone] = useState<string | null>(null)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const value = text.trim()
    if (value === '') return
    setDone(null)
    const isAddress = value.startsWith('net:') || value.includes('~shs:')
    void run(async () => {
      const message = isAddress ? client.connect(value).then(() => 'Connected.') : client.useInvite(value).then(({ address }) => `Invite redeemed: ${address}`)
      setDone(await message)
      setText('')
      onDone()
    })
  }
  return (
    <form className="settings-section" aria-label="Connect to a peer" onSubmit={submit}>
      <label htmlFor={`${id}-address`}>Peer address (net:host:port~shs:key) or invite code</label>
      <input id={`${id}-address`} value={text} onChange={(event) => setText(event.target.value)} spellCheck={false} autoComplete="off" />
      <button type="submit" className="primary" disabled={busy || text.trim() === ''}>
        {busy ? 'Connecting…' : 'Connect'}
      </button>
      {done && <p role="status">{done}</p>}
      {error && <ErrorNote error={error} />}
    </form>
  )
}
