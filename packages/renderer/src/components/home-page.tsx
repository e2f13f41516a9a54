import { useCallback, useRef, useState } from 'react'
import type { LivePost, PageOptions } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive } from '../app/hooks.ts'
import { takePrefetchedHomeFeed } from '../app/prefetch.ts'
import { useSession } from '../app/session.tsx'
import { Composer } from './composer.tsx'
import { PostFeed, type PostFeedHandle } from './post-feed.tsx'

/**
 * Posts from the feeds we follow, newest first. Live arrivals wait behind an "N new posts" bar
 * so what the reader is looking at never moves under them.
 */
export function HomePage() {
  const client = useClient()
  const { me, myself } = useSession()
  const feed = useRef<PostFeedHandle | null>(null)
  const [waiting, setWaiting] = useState<LivePost[]>([])

  useLive(
    () => client.homeFeedLive(),
    (live) => {
      const { post } = live
      if (post.root !== null) {
        feed.current?.update(post.root, (root) => ({ ...root, replyCount: root.replyCount + 1 }))
        return
      }
      if (post.author === me || feed.current?.has(post.id)) return
      setWaiting((list) => (list.some((known) => known.post.id === post.id) ? list : [...list, live]))
    },
    [client, me],
  )

  const showWaiting = () => {
    const newestFirst = [...waiting].sort((a, b) => b.post.timestamp - a.post.timestamp)
    feed.current?.prepend(
      newestFirst.map((live) => live.post),
      Object.assign({}, ...newestFirst.map((live) => live.authors)),
    )
    setWaiting([])
  }

  const load = useCallback((options: PageOptions) => takePrefetchedHomeFeed(client, options) ?? client.homeFeed(options), [client])
  const handleRef = useCallback((handle: PostFeedHandle) => (feed.current = handle), [])

  return (
    <div className="page page-feed">
      <h1 className="visually-hidden">Home</h1>
      <Composer onPosted={(post) => feed.current?.prepend([post], { [me]: myself })} />
      {waiting.length > 0 && (
        <button type="button" className="new-posts" onClick={showWaiting}>
          {waiting.length === 1 ? '1 new post' : `${waiting.length} new posts`}
        </button>
      )}
      <PostFeed
        load={load}
        label="Home feed"
        handleRef={handleRef}
        empty={<p>Nothing here yet. Follow people (from their profile) and their posts show up here as your peer replicates them.</p>}
      />
    </div>
  )
}
