import type { PageOptions, PostPage } from '@hearsay/client-api'
import type { HearsayClient } from './connection.tsx'

// The home feed's first page is what a person waits for on launch, so it is asked for as soon
// as the connection opens, alongside `setup`, rather than after it. Used only while fresh.
const FRESH_FOR_MS = 5_000
interface Prefetched {
  page: Promise<PostPage>
  at: number
  options: PageOptions
}
const prefetched = new WeakMap<HearsayClient, Prefetched>()

export function prefetchHomeFeed(client: HearsayClient, options: PageOptions): void {
  if (fresh(prefetched.get(client), options)) return
  const page = client.homeFeed(options)
  page.catch(() => undefined) // a failure surfaces when (if) the home page takes it
  prefetched.set(client, { page, at: Date.now(), options })
}

/** The prefetched first page, once, if it was asked for with these options and is still fresh. */
export function takePrefetchedHomeFeed(client: HearsayClient, options: PageOptions): Promise<PostPage> | null {
  const entry = prefetched.get(client)
  prefetched.delete(client)
  return fresh(entry, options) ? entry.page : null
}

function fresh(entry: Prefetched | undefined, options: PageOptions): entry is Prefetched {
  return entry !== undefined && Date.now() - entry.at <= FRESH_FOR_MS && entry.options.limit === options.limit && entry.options.cursor === options.cursor
}

/** Settles once the prefetched first page, if one is under way, has been answered (either way). */
export function prefetchedHomeFeedAnswered(client: HearsayClient): Promise<void> {
  const entry = prefetched.get(client)
  return entry ? entry.page.then(() => undefined, () => undefined) : Promise.resolve()
}

/** Forgets a prefetched page that no longer applies (onboarding may switch identities). */
export function dropPrefetchedHomeFeed(client: HearsayClient): void {
  prefetched.delete(client)
}
