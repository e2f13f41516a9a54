import { useEffect, useId, useState } from 'react'
import { MAX_RECIPIENTS, type AuthorView, type FeedId } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive, useLoaded } from '../app/hooks.ts'
import { useSession } from '../app/session.tsx'
import { hrefFor } from '../routes.ts'
import { Avatar, displayName, ErrorNote, Loading, previewText, timeAgo } from './common.tsx'
import { Composer } from './composer.tsx'

/** Private conversations, newest first, and a composer for a new one. */
export function MessagesPage() {
  const client = useClient()
  const { me } = useSession()
  const inbox = useLoaded(() => client.inbox({ limit: 50 }), [client])
  useLive(() => client.privateMessagesLive(), inbox.reload, [client])
  const [composing, setComposing] = useState(false)
  return (
    <div className="page page-messages">
      <h1 className="page-title">Messages</h1>
      {composing ? (
        <NewConversation onDone={() => { setComposing(false); inbox.reload() }} />
      ) : (
        <button type="button" className="primary" onClick={() => setComposing(true)}>
          New message
        </button>
      )}
      {inbox.error && <ErrorNote error={inbox.error} action={{ label: 'Try again', run: inbox.reload }} />}
      {!inbox.value ? (
        !inbox.error && <Loading label="Loading messages…" />
      ) : inbox.value.items.length === 0 ? (
        <p>No private messages yet.</p>
      ) : (
        <ul className="conversations" aria-label="Conversations">
          {inbox.value.items.map((item) => {
            const others = item.recps.filter((feed) => feed !== me)
            const names = (others.length > 0 ? others : [me]).map((feed) => displayName(feed, inbox.value!.authors)).join(', ')
            return (
              <li key={item.root} className={item.unread ? 'conversation unread' : 'conversation'}>
                <a href={hrefFor({ page: 'conversation', id: item.root })}>
                  <Avatar author={inbox.value!.authors[item.latest.author]} size={32} />
                  <span className="conversation-with">{names}</span>
                  {item.unread && <span className="badge">Unread</span>}
                  <span className="conversation-preview">{previewText(item.latest.text, 120)}</span>
                  <time dateTime={new Date(item.latest.timestamp).toISOString()}>{timeAgo(item.latest.timestamp)}</time>
                </a>
              </li>
            )
          })}
        </ul>
      )}
    </div>
  )
}

/** Pick 1–7 people by name, then write. */
function NewConversation({ onDone }: { onDone(): void }) {
  const { me } = useSession()
  const [recipients, setRecipients] = useState<AuthorView[]>([])
  const ids = recipients.map((person) => person.id)
  return (
    <section className="new-conversation" aria-label="New message">
      <RecipientPicker chosen={recipients} onChange={setRecipients} exclude={me} />
      {recipients.length > 0 && (
        <Composer
          recps={ids}
          placeholder="Write a private message"
          submitLabel="Send privately"
          onPosted={(post) => {
            window.location.hash = hrefFor({ page: 'conversation', id: post.id })
            onDone()
          }}
        />
      )}
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </section>
  )
}

function RecipientPicker({ chosen, onChange, exclude }: { chosen: AuthorView[]; onChange(next: AuthorView[]): void; exclude: FeedId }) {
  const client = useClient()
  const [text, setText] = useState('')
  const [found, setFound] = useState<AuthorView[]>([])
  const id = useId()
  const full = chosen.length >= MAX_RECIPIENTS - 1
  useEffect(() => {
    if (text.trim() === '') return setFound([])
    let current = true
    const timer = setTimeout(() => {
      client.findPeople(text, { limit: 8 }).then((people) => current && setFound(people), () => current && setFound([]))
    }, 150)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [client, text])
  const options = found.filter((person) => person.id !== exclude && !chosen.some((picked) => picked.id === person.id))
  return (
    <div className="recipient-picker">
      <ul aria-label="Recipients" className="recipients">
        {chosen.map((person) => (
          <li key={person.id}>
            {person.name ?? person.id}
            <button type="button" aria-label={`Remove ${person.name ?? person.id}`} onClick={() => onChange(chosen.filter((picked) => picked.id !== person.id))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <label htmlFor={id}>To (up to {MAX_RECIPIENTS - 1} people)</label>
      <input id={id} value={text} disabled={full} placeholder={full ? 'That is as many as a private message can have' : 'Type a name'} onChange={(event) => setText(event.target.value)} />
      {options.length > 0 && (
        <ul role="listbox" aria-label="People found" className="mention-list">
          {options.map((person) => (
            <li key={person.id} role="option" aria-selected="false">
              <button type="button" onClick={() => {
                onChange([...chosen, person])
                setText('')
              }}>
                {person.name ?? person.id}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
