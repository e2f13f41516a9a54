import type { AuthorView, FeedId, MessageId, PostView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive, useLoaded } from '../app/hooks.ts'
import { useSession } from '../app/session.tsx'
import { ErrorNote, Loading } from './common.tsx'
import { Composer } from './composer.tsx'
import { PostCard } from './post-card.tsx'

export function ThreadPage({ id }: { id: MessageId }) {
  const client = useClient()
  const { me, myself, blocked } = useSession()
  const thread = useLoaded(() => client.thread(id), [client, id])

  const addReply = (post: PostView, authors: Record<FeedId, AuthorView> = {}) =>
    thread.set((current) => {
      if (!current) return current
      if (post.id === id) return { ...current, root: post }
      if (current.replies.some((reply) => reply.id === post.id)) return current
      return { ...current, replies: [...current.replies, post], authors: { ...current.authors, ...authors } }
    })
  useLive(() => client.threadLive(id), (live) => addReply(live.post, live.authors), [client, id])

  const replaceReply = (changed: PostView) =>
    thread.set((current) =>
      current && {
        ...current,
        root: current.root?.id === changed.id ? changed : current.root,
        replies: current.replies.map((reply) => (reply.id === changed.id ? changed : reply)),
      },
    )

  if (thread.error) return <ErrorNote error={thread.error} action={{ label: 'Try again', run: thread.reload }} />
  if (!thread.value) return <Loading label="Loading thread…" />
  const { root, replies, authors } = thread.value
  const shown = replies.filter((reply) => !blocked.has(reply.author))
  const lastReply = replies[replies.length - 1]
  return (
    <div className="page page-thread">
      <h1 className="visually-hidden">Thread</h1>
      {root && !blocked.has(root.author) ? (
        <PostCard post={root} authors={authors} onChange={replaceReply} />
      ) : (
        <p className="missing-root">The start of this thread has not reached your peer yet.</p>
      )}
      <section aria-label="Replies" className="replies">
        {shown.map((reply) => (
          <PostCard key={reply.id} post={reply} authors={authors} onChange={replaceReply} />
        ))}
      </section>
      <Composer
        reply={{ root: id, branch: [lastReply?.id ?? id] }}
        placeholder="Write a reply"
        onPosted={(post) => addReply(post, { [me]: myself })}
      />
    </div>
  )
}
