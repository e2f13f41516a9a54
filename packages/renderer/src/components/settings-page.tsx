import { useId, useState } from 'react'
import type { BackupView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { ErrorNote } from './common.tsx'
import { RestoreForm } from './restore.tsx'

/** Backing up the identity (phrase or secret file) and restoring another one. */
export function SettingsPage() {
  const client = useClient()
  const [backup, setBackup] = useState<BackupView | null>(null)
  const [error, setError] = useState<Error | null>(null)
  const ids = useId()
  const reveal = () => {
    setError(null)
    client.backup().then(setBackup, (err: Error) => setError(err))
  }
  return (
    <div className="page page-settings">
      <h1 className="page-title">Settings</h1>
      <section aria-label="Back up your identity" className="settings-section">
        <h2>Back up your identity</h2>
        <p>
          Your identity is a key on this computer. Write down these 24 words (or keep the secret file) somewhere safe and private:
          with either, you can restore it here or in another Scuttlebutt app such as Manyverse. Anyone who sees them can post as you.
        </p>
        {backup ? (
          <>
            <label htmlFor={`${ids}-phrase`}>Recovery phrase</label>
            <textarea id={`${ids}-phrase`} readOnly rows={3} value={backup.phrase} spellCheck={false} />
            <label htmlFor={`${ids}-secret`}>Secret file (~/.ssb/secret)</label>
            <textarea id={`${ids}-secret`} readOnly rows={8} value={backup.secretFile} spellCheck={false} />
            <button type="button" onClick={() => setBackup(null)}>
              Hide
            </button>
          </>
        ) : (
          <button type="button" className="primary" onClick={reveal}>
            Show recovery phrase
          </button>
        )}
        {error && <ErrorNote error={error} />}
      </section>
      <section aria-label="Restore an identity" className="settings-section">
        <h2>Restore an identity</h2>
        <p>Only possible before this identity has posted anything.</p>
        <RestoreForm onRestored={() => window.location.reload()} />
      </section>
    </div>
  )
}
