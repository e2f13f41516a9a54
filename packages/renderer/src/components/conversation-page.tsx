import { useEffect } from 'react'
import type { AuthorView, FeedId, MessageId, PostView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive, useLoaded } from '../app/hooks.ts'
import { useSession } from '../app/session.tsx'
import { displayName, ErrorNote, Loading } from './common.tsx'
import { Composer } from './composer.tsx'
import { PostCard } from './post-card.tsx'

/** A private conversation: its posts in order, a private reply to the same people; opening it marks it read. */
export function ConversationPage({ id, onRead }: { id: MessageId; onRead(): void }) {
  const client = useClient()
  const { me, myself } = useSession()
  const conversation = useLoaded(() => client.conversation(id), [client, id])
  const posts = conversation.value ? [...(conversation.value.root ? [conversation.value.root] : []), ...conversation.value.replies] : []
  const latest = posts.at(-1)?.id

  useEffect(() => {
    if (!latest) return
    client.markConversationRead(id).then(onRead, () => undefined)
  }, [client, id, latest])

  const add = (post: PostView, authors: Record<FeedId, AuthorView> = {}) =>
    conversation.set((current) => {
      if (!current || post.recps === null) return current
      if (post.id === id) return { ...current, root: post }
      if (current.replies.some((reply) => reply.id === post.id)) return current
      return { ...current, replies: [...current.replies, post], authors: { ...current.authors, ...authors } }
    })

  useLive(() => client.privateMessagesLive(), (live) => {
    if (live.post.id === id || live.post.root === id) add(live.post, live.authors)
  }, [client, id])

  if (conversation.error) return <ErrorNote error={conversation.error} action={{ label: 'Try again', run: conversation.reload }} />
  if (!conversation.value) return <Loading label="Loading conversation…" />
  const { authors } = conversation.value
  const recps = posts[0]?.recps ?? []
  const others = recps.filter((feed) => feed !== me)
  return (
    <div className="page page-conversation">
      <h1 className="page-title">Private, with {others.map((feed) => displayName(feed, authors)).join(', ') || 'yourself'}</h1>
      {!conversation.value.root && <p className="missing-root">The start of this conversation has not reached your peer yet.</p>}
      <section aria-label="Private messages" className="replies">
        {posts.map((post) => (
          <PostCard key={post.id} post={post} authors={authors} onChange={(changed) => conversation.set((current) => current && {
            ...current,
            root: current.root?.id === changed.id ? changed : current.root,
            replies: current.replies.map((reply) => (reply.id === changed.id ? changed : reply)),
          })} />
        ))}
      </section>
      {recps.length > 0 && (
        <Composer
          reply={{ root: id, branch: [latest ?? id] }}
          recps={recps}
          placeholder="Write a private reply"
          onPosted={(post) => add(post, { [me]: myself })}
        />
      )}
    </div>
  )
}
