import { useCallback, useState } from 'react'
import { shortId, type FeedId, type PageOptions, type ProfileView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction, useLoaded } from '../app/hooks.ts'
import { useSession } from '../app/session.tsx'
import { AuthorLink, Avatar, ErrorNote, Loading, Markdown, fileToBase64 } from './common.tsx'
import { PostFeed } from './post-feed.tsx'

type Tab = 'posts' | 'followers' | 'following'

export function ProfilePage({ id }: { id: FeedId }) {
  const client = useClient()
  const profile = useLoaded(() => client.profile(id), [client, id])
  const [tab, setTab] = useState<Tab>('posts')
  const [editing, setEditing] = useState(false)
  const load = useCallback((options: PageOptions) => client.profileFeed(id, options), [client, id])

  if (profile.error) return <ErrorNote error={profile.error} action={{ label: 'Try again', run: profile.reload }} />
  if (!profile.value) return <Loading label="Loading profile…" />
  const view = profile.value
  const name = view.name ?? shortId(id)
  return (
    <div className="page page-feed page-profile">
      <section className="profile-header" aria-label="Profile">
        <Avatar author={view} size={72} />
        <div className="profile-main">
          <h1 className="page-title">{name}</h1>
          <p className="feed-id">
            <code>{id}</code>
          </p>
          {view.followsYou && <p className="badge">Follows you</p>}
          {view.description && <Markdown text={view.description} authors={{}} />}
          <p className="counts">
            <button type="button" aria-pressed={tab === 'followers'} onClick={() => setTab(tab === 'followers' ? 'posts' : 'followers')}>
              {view.followers} followers
            </button>
            <button type="button" aria-pressed={tab === 'following'} onClick={() => setTab(tab === 'following' ? 'posts' : 'following')}>
              {view.following} following
            </button>
          </p>
          {view.isMe ? (
            <button type="button" aria-expanded={editing} onClick={() => setEditing((open) => !open)}>
              Edit profile
            </button>
          ) : (
            <Relationship view={view} onChanged={profile.reload} />
          )}
        </div>
      </section>
      {editing && (
        <ProfileEditor
          view={view}
          onSaved={(saved) => {
            profile.set(() => saved)
            setEditing(false)
          }}
        />
      )}
      {tab === 'posts' ? (
        view.youBlock ? (
          <p className="empty">You block {name}: their posts are hidden.</p>
        ) : (
          <PostFeed key={id} load={load} label={`Posts by ${name}`} empty={<p>No posts from {name} have reached your peer yet.</p>} />
        )
      ) : (
        <ContactList feed={id} which={tab} />
      )}
    </div>
  )
}

function Relationship({ view, onChanged }: { view: ProfileView; onChanged(): void }) {
  const client = useClient()
  const session = useSession()
  const { busy, error, run } = useAction()
  const change = (update: () => Promise<void>) =>
    run(async () => {
      await update()
      onChanged()
    })
  return (
    <div className="relationship">
      <button type="button" className="primary" aria-pressed={view.youFollow} disabled={busy || view.youBlock} onClick={() => void change(() => client.setFollow(view.id, !view.youFollow))}>
        {view.youFollow ? 'Unfollow' : 'Follow'}
      </button>
      <button
        type="button"
        className="danger"
        aria-pressed={view.youBlock}
        disabled={busy}
        onClick={() =>
          void change(async () => {
            await client.setBlock(view.id, !view.youBlock)
            session.setBlocked(view.id, !view.youBlock)
          })
        }
      >
        {view.youBlock ? 'Unblock' : 'Block'}
      </button>
      {error && <ErrorNote error={error} />}
    </div>
  )
}

function ProfileEditor({ view, onSaved }: { view: ProfileView; onSaved(view: ProfileView): void }) {
  const client = useClient()
  const { setMyself } = useSession()
  const [name, setName] = useState(view.name ?? '')
  const [description, setDescription] = useState(view.description ?? '')
  const [image, setImage] = useState<File | null>(null)
  const { busy, error, run } = useAction()
  const save = () =>
    run(async () => {
      const avatar = image ? await client.addBlob({ base64: await fileToBase64(image), mimeType: image.type }) : null
      const saved = await client.editProfile({
        ...(name.trim() !== (view.name ?? '') ? { name: name.trim() } : {}),
        ...(description !== (view.description ?? '') ? { description } : {}),
        ...(avatar ? { image: avatar.id } : {}),
      })
      setMyself({ id: saved.id, name: saved.name, image: saved.image })
      onSaved(saved)
    })
  return (
    <form
      className="profile-editor"
      aria-label="Edit profile"
      onSubmit={(event) => {
        event.preventDefault()
        void save()
      }}
    >
      <label>
        Name
        <input value={name} maxLength={100} required onChange={(event) => setName(event.target.value)} />
      </label>
      <label>
        Bio
        <textarea value={description} rows={3} onChange={(event) => setDescription(event.target.value)} />
      </label>
      <label>
        Avatar
        <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(event) => setImage(event.target.files?.[0] ?? null)} />
      </label>
      <button type="submit" className="primary" disabled={busy || name.trim() === ''}>
        {busy ? 'Saving…' : 'Save'}
      </button>
      {error && <ErrorNote error={error} />}
    </form>
  )
}

function ContactList({ feed, which }: { feed: FeedId; which: 'followers' | 'following' }) {
  const client = useClient()
  const contacts = useLoaded(() => (which === 'followers' ? client.followers(feed) : client.following(feed)), [client, feed, which])
  if (contacts.error) return <ErrorNote error={contacts.error} action={{ label: 'Try again', run: contacts.reload }} />
  if (!contacts.value) return <Loading />
  return (
    <ul className="contact-list" aria-label={which === 'followers' ? 'Followers' : 'Following'}>
      {contacts.value.items.length === 0 && <li>Nobody yet.</li>}
      {contacts.value.items.map((person) => (
        <li key={person.id}>
          <Avatar author={person} size={32} />
          <AuthorLink id={person.id} authors={{ [person.id]: person }} />
        </li>
      ))}
    </ul>
  )
}
