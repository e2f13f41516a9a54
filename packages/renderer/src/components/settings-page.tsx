import { useId, useState } from 'react'
import { shortId, type BackupView, type ReclaimView, type SettingsChange } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction, useLoaded } from '../app/hooks.ts'
import { THEMES, useTheme, type Theme } from '../app/theme.ts'
import { hrefFor } from '../routes.ts'
import { ErrorNote, Loading, formatBytes } from './common.tsx'
import { RestoreForm } from './restore.tsx'

const themeLabels: Record<Theme, string> = { system: 'As the system', light: 'Light', dark: 'Dark' }
const hopsLabels = ['Only me', 'People I follow', 'And whom they follow', 'Three steps away', 'Four steps away']

/** Replication and LAN, theme, storage and reclaiming it, backing up and restoring the identity. */
export function SettingsPage() {
  return (
    <div className="page page-settings">
      <h1 className="page-title">Settings</h1>
      <PeerSettings />
      <ThemeSetting />
      <StorageSection />
      <BackupSection />
    </div>
  )
}

function PeerSettings() {
  const client = useClient()
  const ids = useId()
  const settings = useLoaded(() => client.settings(), [client])
  const [error, setError] = useState<Error | null>(null)
  const change = (update: SettingsChange) => {
    setError(null)
    client.updateSettings(update).then((next) => settings.set(() => next), (err: Error) => setError(err))
  }
  if (settings.error) return <ErrorNote error={settings.error} action={{ label: 'Try again', run: settings.reload }} />
  const view = settings.value
  if (!view) return <Loading label="Loading settings…" />
  return (
    <section aria-label="Replication" className="settings-section">
      <h2>Replication</h2>
      <label htmlFor={`${ids}-hops`}>Whose messages to fetch and keep</label>
      <select id={`${ids}-hops`} value={view.hops} onChange={(event) => change({ hops: Number(event.target.value) })}>
        {Array.from({ length: view.maxHops + 1 }, (_, hops) => (
          <option key={hops} value={hops}>
            {hops} — {hopsLabels[hops] ?? `${hops} steps away`}
          </option>
        ))}
      </select>
      <label>
        <input type="checkbox" checked={view.lan} onChange={(event) => change({ lan: event.target.checked })} /> Find peers on the local network
      </label>
      {view.lan && !view.lanActive && <p className="muted">Not running: this peer listens on this computer only, where the network cannot reach it.</p>}
      <p>
        Data folder: <code>{view.dataDir}</code>
      </p>
      <p>
        Peers: <a href={hrefFor({ page: 'connections' })}>Connections</a>
      </p>
      {error && <ErrorNote error={error} />}
    </section>
  )
}

function ThemeSetting() {
  const [theme, setTheme] = useTheme()
  return (
    <fieldset className="settings-section" aria-label="Theme">
      <legend>Theme</legend>
      {THEMES.map((option) => (
        <label key={option}>
          <input type="radio" name="theme" value={option} checked={theme === option} onChange={() => setTheme(option)} /> {themeLabels[option]}
        </label>
      ))}
    </fieldset>
  )
}

function StorageSection() {
  const client = useClient()
  const storage = useLoaded(() => client.storage(), [client])
  const { busy: reclaiming, error, run } = useAction()
  const [reclaimed, setReclaimed] = useState<ReclaimView | null>(null)
  const reclaim = () =>
    run(async () => {
      setReclaimed(await client.reclaimSpace())
      storage.reload()
    })
  const view = storage.value
  return (
    <section aria-label="Storage" className="settings-section">
      <h2>Storage</h2>
      {storage.error && <ErrorNote error={storage.error} action={{ label: 'Try again', run: storage.reload }} />}
      {!view ? (
        !storage.error && <Loading label="Measuring storage…" />
      ) : (
        <>
          <dl className="figures" aria-label="Storage used">
            <dt>Messages</dt>
            <dd>
              {view.messages.count} messages · {formatBytes(view.messages.bytes)}
            </dd>
            <dt>Blobs</dt>
            <dd>
              {view.blobs.count} files · {formatBytes(view.blobs.bytes)}
            </dd>
          </dl>
          <h3>Largest feeds</h3>
          <ol aria-label="Largest feeds">
            {view.feeds.map(({ author, messages, blocked }) => (
              <li key={author.id}>
                <a href={hrefFor({ page: 'profile', id: author.id })}>{author.name ?? shortId(author.id)}</a> — {messages} messages
                {blocked && ' (blocked)'}
              </li>
            ))}
          </ol>
          <p>
            Reclaiming space removes the messages of the {view.reclaimableFeeds} blocked {view.reclaimableFeeds === 1 ? 'feed' : 'feeds'} still stored (they are not fetched again
            while blocked), and blobs no stored message links to.
          </p>
        </>
      )}
      <button type="button" onClick={() => void reclaim()} disabled={reclaiming}>
        {reclaiming ? 'Reclaiming…' : 'Reclaim space'}
      </button>
      {reclaimed && (
        <p role="status">
          Removed {reclaimed.messages} messages of {reclaimed.feeds} blocked {reclaimed.feeds === 1 ? 'feed' : 'feeds'} and {reclaimed.blobs} blobs (
          {formatBytes(reclaimed.blobBytes)}).
        </p>
      )}
      {error && <ErrorNote error={error} />}
    </section>
  )
}

/** Backing up the identity (phrase or secret file) and restoring another one. */
function BackupSection() {
  const client = useClient()
  const [backup, setBackup] = useState<BackupView | null>(null)
  const [error, setError] = useState<Error | null>(null)
  const ids = useId()
  const reveal = () => {
    setError(null)
    client.backup().then(setBackup, (err: Error) => setError(err))
  }
  return (
    <>
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
    </>
  )
}
