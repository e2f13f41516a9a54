import { useCallback } from 'react'
import type { PageOptions } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { PostFeed } from './post-feed.tsx'

export function TagPage({ tag }: { tag: string }) {
  const client = useClient()
  const load = useCallback((options: PageOptions) => client.hashtagFeed(tag, options), [client, tag])
  return (
    <div className="page page-feed">
      <h1 className="page-title">#{tag}</h1>
      <PostFeed key={tag} load={load} label={`Posts tagged #${tag}`} empty={<p>No posts with #{tag} yet.</p>} />
    </div>
  )
}
