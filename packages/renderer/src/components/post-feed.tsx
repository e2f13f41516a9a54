import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import { useVirtualizer } from '@tanstack/react-virtual'
import { isFeedIdShape, sigilInText, type AuthorView, type FeedId, type PageOptions, type PostPage, type PostView } from '@hearsay/client-api'
import { useSession } from '../app/session.tsx'
import { ErrorNote, Loading } from './common.tsx'
import { PostCard } from './post-card.tsx'

export interface FeedState {
  posts: PostView[]
  authors: Record<FeedId, AuthorView>
}

export interface PostFeedHandle {
  /** Puts posts at the top (ours, or live arrivals the reader asked for) and scrolls up to them. */
  prepend(posts: PostView[], authors: Record<FeedId, AuthorView>): void
  /** Applies a change to a post already shown (a reply count, a like). */
  update(id: PostView['id'], change: (post: PostView) => PostView): void
  has(id: PostView['id']): boolean
}

export interface PostFeedProps {
  /** Loads a page (no cursor for the first). */
  load(options: PageOptions): Promise<PostPage>
  label: string
  empty: ReactNode
  handleRef?(handle: PostFeedHandle): void
}

/** Posts a page: the home feed's first page is prefetched with it. */
export const PAGE_SIZE = 50
/** Start loading the next page this many posts before the end. */
const PREFETCH = 10

/** A virtualised, infinitely scrolling list of posts: only those near the viewport are in the DOM. */
export function PostFeed({ load, label, empty, handleRef }: PostFeedProps) {
  const { blocked } = useSession()
  const [feed, setFeed] = useState<FeedState>({ posts: [], authors: {} })
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const [done, setDone] = useState(false)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<Error | null>(null)
  const scroller = useRef<HTMLDivElement>(null)
  const loadRef = useRef(load)
  loadRef.current = load
  const inFlight = useRef(false)

  const loadMore = useCallback(async (from: string | undefined, reset: boolean) => {
    if (inFlight.current) return
    inFlight.current = true
    setLoading(true)
    setError(null)
    try {
      const page = await loadRef.current(from === undefined ? { limit: PAGE_SIZE } : { limit: PAGE_SIZE, cursor: from })
      setFeed((current) => {
        const base = reset ? { posts: [], authors: {} } : current
        const seen = new Set(base.posts.map((post) => post.id))
        return { posts: [...base.posts, ...page.items.filter((post) => !seen.has(post.id))], authors: mergeAuthors(base.authors, page.authors) }
      })
      setCursor(page.cursor)
      setDone(page.cursor === undefined)
    } catch (err) {
      setError(err as Error)
    } finally {
      inFlight.current = false
      setLoading(false)
    }
  }, [])

  useEffect(() => {
    void loadMore(undefined, true)
  }, [loadMore])

  const visible = blocked.size === 0 ? feed.posts : feed.posts.filter((post) => !blocked.has(post.author))

  const virtualizer = useVirtualizer({
    count: visible.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 180,
    overscan: 6,
    // Rows render in React's next frame rather than synchronously inside each scroll event.
    useFlushSync: false,
    getItemKey: (index) => visible[index]?.id ?? index,
  })
  const items = virtualizer.getVirtualItems()
  const lastIndex = items[items.length - 1]?.index ?? -1

  useEffect(() => {
    if (!done && !loading && !error && visible.length > 0 && lastIndex >= visible.length - PREFETCH) void loadMore(cursor, false)
  }, [lastIndex, visible.length, done, loading, error, cursor, loadMore])

  const feedRef = useRef(feed)
  feedRef.current = feed
  useEffect(() => {
    handleRef?.({
      prepend(posts, authors) {
        setFeed((current) => {
          const fresh = posts.filter((post) => !current.posts.some((shown) => shown.id === post.id))
          return { posts: [...fresh, ...current.posts], authors: mergeAuthors(current.authors, authors) }
        })
        scroller.current?.scrollTo({ top: 0 })
      },
      update(id, change) {
        setFeed((current) => ({ ...current, posts: current.posts.map((post) => (post.id === id ? change(post) : post)) }))
      },
      has: (id) => feedRef.current.posts.some((post) => post.id === id),
    })
  }, [handleRef])

  const authorsOf = useAuthorsByPost(feed.authors)

  const onChange = useCallback((changed: PostView) => {
    setFeed((current) => ({ ...current, posts: current.posts.map((post) => (post.id === changed.id ? changed : post)) }))
  }, [])

  return (
    // Focusable so the keyboard scrolls it (arrows, Page Up/Down) like any page.
    <div className="feed-scroller" ref={scroller} tabIndex={0}>
      <section aria-label={label} aria-busy={loading} className="feed">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const post = visible[item.index]!
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="feed-row"
                style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
              >
                <PostCard post={post} authors={authorsOf(post)} onChange={onChange} />
              </div>
            )
          })}
        </div>
        {loading && <Loading label={visible.length === 0 ? 'Loading posts…' : 'Loading more…'} />}
        {error && <ErrorNote error={error} action={{ label: 'Try again', run: () => void loadMore(cursor, visible.length === 0) }} />}
        {!loading && !error && done && visible.length === 0 && <div className="empty">{empty}</div>}
      </section>
    </div>
  )
}

/** `base` with `incoming` added, keeping the very objects of views that did not change. */
function mergeAuthors(base: Record<FeedId, AuthorView>, incoming: Record<FeedId, AuthorView>): Record<FeedId, AuthorView> {
  const merged = { ...base }
  for (const view of Object.values(incoming)) {
    const known = base[view.id]
    if (!known || known.name !== view.name || known.image !== view.image) merged[view.id] = view
  }
  return merged
}

/**
 * Each post's authors (its author and the feeds it names), as one object per post for as long as
 * their views stay the same. Rows are memoised on it: when a page arrives while scrolling, the
 * rows already shown neither re-render nor parse their markdown again.
 */
function useAuthorsByPost(authors: Record<FeedId, AuthorView>): (post: PostView) => Record<FeedId, AuthorView> {
  const cache = useRef(new WeakMap<PostView, { feeds: FeedId[]; authors: Record<FeedId, AuthorView> }>())
  return (post) => {
    const known = cache.current.get(post)
    if (known && known.feeds.every((feed) => known.authors[feed] === authors[feed])) return known.authors
    const feeds = feedsShownBy(post)
    const subset: Record<FeedId, AuthorView> = {}
    for (const feed of feeds) if (authors[feed]) subset[feed] = authors[feed]
    cache.current.set(post, { feeds, authors: subset })
    return subset
  }
}

function feedsShownBy(post: PostView): FeedId[] {
  const feeds = new Set<FeedId>([post.author])
  for (const mention of post.mentions) if (isFeedIdShape(mention.link)) feeds.add(mention.link)
  for (const [ref] of post.text.matchAll(sigilInText)) if (isFeedIdShape(ref)) feeds.add(ref)
  return [...feeds]
}
