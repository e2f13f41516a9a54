import { useEffect, useState } from 'react'
import type { SetupView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction } from '../app/hooks.ts'
import { dropPrefetchedHomeFeed } from '../app/prefetch.ts'
import { ErrorNote, fileToBase64 } from './common.tsx'
import { RestoreForm, RestoreNotice, useRestoreStatus } from './restore.tsx'

/** First run: keep the new identity or adopt an existing SSB secret, then a name and avatar. */
export function Onboarding({ setup, onDone }: { setup: SetupView; onDone(): void }) {
  const client = useClient()
  const [identity, setIdentity] = useState(setup)
  const [step, setStep] = useState<'identity' | 'adopt' | 'restoring' | 'profile'>(setup.restorePending ? 'restoring' : 'identity')
  const [name, setName] = useState('')
  const [avatar, setAvatar] = useState<File | null>(null)
  const { busy, error, run } = useAction()
  const preview = useObjectUrl(avatar)
  useEffect(() => dropPrefetchedHomeFeed(client), [client])

  const adopted = (restored: SetupView) => {
    setIdentity(restored)
    if (restored.restorePending) setStep('restoring')
    else if (restored.named) onDone()
    else setStep('profile')
  }

  const finish = () =>
    run(async () => {
      const image = avatar ? (await client.addBlob({ base64: await fileToBase64(avatar), mimeType: avatar.type })).id : undefined
      await client.editProfile({ name: name.trim(), ...(image ? { image } : {}) })
      onDone()
    })

  return (
    <main className="onboarding">
      <h1>Welcome to Hearsay</h1>
      {step === 'identity' && (
        <section aria-label="Your identity">
          <p>Your posts are signed by a key that lives only on this computer. This one was made for you:</p>
          <p>
            <code className="feed-id">{identity.id}</code>
          </p>
          <div className="choices">
            <button type="button" className="primary" onClick={() => setStep('profile')}>
              Start with this new identity
            </button>
            <button type="button" onClick={() => setStep('adopt')}>
              Use an existing SSB identity
            </button>
          </div>
        </section>
      )}
      {step === 'adopt' && <RestoreForm onRestored={adopted} onCancel={() => setStep('identity')} />}
      {step === 'restoring' && (
        // The feed that came back may already name us.
        <Restoring onSettled={() => void run(async () => ((await client.setup()).named ? onDone() : setStep('profile')))} />
      )}
      {step === 'profile' && (
        <form
          aria-label="Your profile"
          onSubmit={(event) => {
            event.preventDefault()
            void finish()
          }}
        >
          <label>
            Your name
            <input value={name} maxLength={100} required autoFocus onChange={(event) => setName(event.target.value)} />
          </label>
          <label>
            Avatar (optional)
            <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(event) => setAvatar(event.target.files?.[0] ?? null)} />
          </label>
          {preview && <img className="avatar" src={preview} alt="Avatar preview" width={72} height={72} />}
          <button type="submit" className="primary" disabled={busy || name.trim() === ''}>
            {busy ? 'Saving…' : 'Continue'}
          </button>
        </form>
      )}
      {error && <ErrorNote error={error} />}
    </main>
  )
}

function useObjectUrl(file: File | null): string | null {
  const [url, setUrl] = useState<string | null>(null)
  useEffect(() => {
    if (!file) return setUrl(null)
    const created = URL.createObjectURL(file)
    setUrl(created)
    return () => URL.revokeObjectURL(created)
  }, [file])
  return url
}

/** After a restore: wait for the feed (or the person's word that there is none), then go on. */
function Restoring({ onSettled }: { onSettled(): void }) {
  const status = useRestoreStatus()
  const settled = status !== null && !status.pending
  useEffect(() => {
    if (settled) onSettled()
  }, [settled])
  return status ? <RestoreNotice status={status} /> : null
}
