import { useId, useState } from 'react'
import type { RestoreView, SetupView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction, useLive } from '../app/hooks.ts'
import { ErrorNote } from './common.tsx'

/** Paste a recovery phrase or a secret file's text; the peer tells which it is and what is wrong. */
export function RestoreForm({ onRestored, onCancel }: { onRestored(setup: SetupView): void; onCancel?(): void }) {
  const client = useClient()
  const [backup, setBackup] = useState('')
  const { busy, error, run } = useAction()
  const restore = () =>
    run(async () => {
      const setup = await client.adoptSecret(backup)
      setBackup('')
      onRestored(setup)
    })
  return (
    <form
      aria-label="Use an existing identity"
      onSubmit={(event) => {
        event.preventDefault()
        void restore()
      }}
    >
      <label>
        Paste the contents of your SSB secret file (~/.ssb/secret), or your 24-word recovery phrase
        <textarea value={backup} rows={8} spellCheck={false} autoComplete="off" onChange={(event) => setBackup(event.target.value)} />
      </label>
      <p className="hint">It stays on this computer. Use it here only if no other app is still posting with it, or your feed forks.</p>
      <div className="choices">
        <button type="submit" className="primary" disabled={busy || backup.trim() === ''}>
          Use this identity
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Back
          </button>
        )}
      </div>
      {error && <ErrorNote error={error} />}
    </form>
  )
}

/** The restore status, live (null until the peer answers). */
export function useRestoreStatus(): RestoreView | null {
  const client = useClient()
  const [status, setStatus] = useState<RestoreView | null>(null)
  useLive(() => client.restoreStatusLive(), setStatus, [client])
  return status
}

/**
 * After a restore: why posting waits, how far the feed has come back, and the way out when no
 * peer has it. Renders nothing once the restore has settled.
 */
export function RestoreNotice({ status }: { status: RestoreView }) {
  const client = useClient()
  const [error, setError] = useState<Error | null>(null)
  const [confirming, setConfirming] = useState(false)
  const [address, setAddress] = useState('')
  const addressId = useId()
  if (!status.pending) return null
  const progress =
    status.latestOnPeers !== null
      ? `Fetched ${status.sequence} of ${status.latestOnPeers} messages of your feed from peers.`
      : status.peersAsked > 0
      ? `${status.peersAsked} peer${status.peersAsked === 1 ? '' : 's'} asked so far; none has your feed yet.`
      : 'No peer has answered yet. Connect to a pub or a friend who follows you.'
  return (
    <section className="restore-notice" role="status" aria-label="Restoring your feed">
      <strong>Waiting for your feed before you can post.</strong>{' '}
      Your identity was restored; posting now, before your earlier messages are back, would fork your feed and friends would stop
      seeing you. {progress}
      {confirming ? (
        <div className="choices">
          <span>Only if this identity never posted anything, anywhere:</span>
          <button type="button" className="danger" onClick={() => client.confirmNoEarlierMessages().catch((err: Error) => setError(err))}>
            Yes, this identity has never posted
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep waiting
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          My feed has no earlier messages
        </button>
      )}
      <form
        className="choices"
        onSubmit={(event) => {
          event.preventDefault()
          setError(null)
          client.connect(address.trim()).then(() => setAddress(''), (err: Error) => setError(err))
        }}
      >
        <label htmlFor={addressId}>Peer address (net:host:port~shs:key)</label>
        <input id={addressId} value={address} spellCheck={false} onChange={(event) => setAddress(event.target.value)} />
        <button type="submit" disabled={address.trim() === ''}>
          Connect
        </button>
      </form>
      {error && <ErrorNote error={error} />}
    </section>
  )
}
