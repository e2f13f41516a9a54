import { memo, useState } from 'react'
import type { AuthorView, FeedId, LikesView, PostView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction } from '../app/hooks.ts'
import { hrefFor } from '../routes.ts'
import { AuthorLink, Avatar, ErrorNote, Markdown, displayName, timeAgo } from './common.tsx'

export interface PostCardProps {
  post: PostView
  authors: Record<FeedId, AuthorView>
  /** The post changed here (a like): the list holding it keeps the new copy. */
  onChange?(post: PostView): void
}

/** Memoised: a scrolling feed re-renders on every frame, and only rows whose post changed need to. */
export const PostCard = memo(function PostCard({ post, authors, onChange }: PostCardProps) {
  const [revealed, setRevealed] = useState(post.contentWarning === null)
  const threadHref = hrefFor({ page: 'thread', id: post.root ?? post.id })
  const authorName = displayName(post.author, authors)
  return (
    <article className="post" aria-label={`Post by ${authorName}`} data-post-id={post.id}>
      <header className="post-header">
        <Avatar author={authors[post.author]} />
        <div>
          <AuthorLink id={post.author} authors={authors} />
          <a className="post-time" href={threadHref} title={new Date(post.timestamp).toLocaleString()}>
            {timeAgo(post.timestamp)}
          </a>
          {post.root && (
            <span className="post-context">
              {' · '}
              <a href={threadHref}>in reply</a>
            </span>
          )}
          {post.recps && <span className="post-private"> · private</span>}
        </div>
      </header>
      {post.contentWarning !== null && (
        <p className="content-warning">
          <span>CW: {post.contentWarning}</span>{' '}
          <button type="button" aria-expanded={revealed} onClick={() => setRevealed((shown) => !shown)}>
            {revealed ? 'Hide post' : 'Show post'}
          </button>
        </p>
      )}
      {revealed && <Markdown text={post.text} authors={authors} />}
      <footer className="post-actions">
        <LikeControls post={post} onChange={onChange} />
        <a className="reply-link" href={threadHref} aria-label={`Reply (${post.replyCount} replies)`}>
          Reply{post.replyCount > 0 ? ` · ${post.replyCount}` : ''}
        </a>
      </footer>
    </article>
  )
})

function LikeControls({ post, onChange }: { post: PostView; onChange?: ((post: PostView) => void) | undefined }) {
  const client = useClient()
  const [likes, setLikes] = useState(post.likes)
  const { busy, error, setError, run } = useAction()
  const [voters, setVoters] = useState<LikesView | null>(null)

  const toggle = async () => {
    const liked = !likes.byMe
    await run(async () => {
      await client.setLike(post.id, liked)
      const next = { count: Math.max(0, likes.count + (liked ? 1 : -1)), byMe: liked }
      setLikes(next)
      onChange?.({ ...post, likes: next })
      if (voters) setVoters(await client.likes(post.id))
    })
  }

  const showVoters = async () => {
    if (voters) return setVoters(null)
    try {
      setVoters(await client.likes(post.id))
    } catch (err) {
      setError(err as Error)
    }
  }

  return (
    <span className="likes">
      <button type="button" className="like-button" aria-label="Like" aria-pressed={likes.byMe} disabled={busy} onClick={() => void toggle()}>
        {likes.byMe ? '♥ Liked' : '♡ Like'}
      </button>
      <button type="button" className="like-count" aria-expanded={voters !== null} aria-label={`${likes.count} ${likes.count === 1 ? 'like' : 'likes'}: show who liked`} onClick={() => void showVoters()}>
        {likes.count}
      </button>
      {voters && (
        <span className="voters" role="list" aria-label="Liked by">
          {voters.voters.length === 0 ? (
            <span role="listitem">No likes yet</span>
          ) : (
            voters.voters.map((voter) => (
              <span role="listitem" key={voter.id}>
                <AuthorLink id={voter.id} authors={{ [voter.id]: voter }} />
              </span>
            ))
          )}
        </span>
      )}
      {error && <ErrorNote error={error} />}
    </span>
  )
}
