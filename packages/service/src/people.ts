// Finding feeds by name, for @-mention autocomplete and people search: every name in the about
// index, held in memory once read and kept current from the store's new `about` messages.
import { feedPublicKey, toFeedId, type FeedId } from '@hearsay/keys'
import type { AuthorView } from '@hearsay/client-api'
import { contactsOf, profile, publicContent, type Store } from '@hearsay/store'
import { authorView } from './views.ts'

// The about index's keys are about(32) ‖ field(1) ‖ by(32); names are field 'n' (see aboutIndex).
const NAME_FIELD = 0x6e

const DEFAULT_LIMIT = 10
const MAX_LIMIT = 50

export class PeopleDirectory {
  /** feed → (who named it → the name), once read. */
  private loading: Promise<Map<FeedId, Map<FeedId, string>>> | null = null
  private readonly stale = new Set<FeedId>()
  private readonly unsubscribe: () => void

  constructor(
    private readonly store: Store,
    private readonly me: FeedId,
  ) {
    this.unsubscribe = store.subscribe((message) => {
      const content = publicContent(message)
      if (content?.type === 'about' && typeof content.about === 'string') this.stale.add(content.about as FeedId)
    })
  }

  /**
   * Feeds whose display name (see authorView) starts with `text`, then those whose name contains
   * it; feeds we follow first within each, then shorter names. Blocked feeds are left out.
   */
  async find(text: string, limit = DEFAULT_LIMIT): Promise<AuthorView[]> {
    const query = text.trim().replace(/^@/, '').toLowerCase()
    const names = await this.load()
    const { following, blocking } = await contactsOf(this.store, this.me)
    const matches: Array<{ view: AuthorView; rank: number }> = []
    for (const [feed, given] of names) {
      if (blocking.has(feed)) continue
      const view = authorView(feed, {
        name: given.get(feed) ?? null,
        image: null,
        description: null,
        namesGivenByOthers: [...given].filter(([by]) => by !== feed).map(([by, name]) => ({ by, name })),
      }, this.me, following)
      const name = view.name?.toLowerCase()
      if (name === undefined) continue
      const at = query === '' ? 0 : name.indexOf(query)
      if (at < 0) continue
      matches.push({ view, rank: (at === 0 ? 0 : 2) + (following.has(feed) || feed === this.me ? 0 : 1) })
    }
    matches.sort((a, b) => a.rank - b.rank || a.view.name!.length - b.view.name!.length || a.view.name!.localeCompare(b.view.name!))
    const chosen = matches.slice(0, Math.min(Math.max(1, limit), MAX_LIMIT))
    // Avatars come from the profile itself (the directory keeps names only).
    return Promise.all(chosen.map(async ({ view }) => ({ ...view, image: authorView(view.id, await profile(this.store, view.id), this.me, following).image })))
  }

  close(): void {
    this.unsubscribe()
  }

  private async load(): Promise<Map<FeedId, Map<FeedId, string>>> {
    this.loading ??= this.readAll()
    const names = await this.loading
    for (const feed of [...this.stale]) {
      this.stale.delete(feed)
      let key: Buffer
      try {
        key = feedPublicKey(feed)
      } catch {
        continue
      }
      const about = await profile(this.store, toFeedId(key))
      const given = new Map<FeedId, string>(about.namesGivenByOthers.map(({ by, name }) => [by, name]))
      if (about.name !== null) given.set(feed, about.name)
      if (given.size > 0) names.set(feed, given)
    }
    return names
  }

  private async readAll(): Promise<Map<FeedId, Map<FeedId, string>>> {
    const names = new Map<FeedId, Map<FeedId, string>>()
    for await (const [key, value] of this.store.indexReader('about').entries({})) {
      if (key.length !== 65 || key[32] !== NAME_FIELD) continue
      const feed = toFeedId(key.subarray(0, 32))
      let given = names.get(feed)
      if (!given) names.set(feed, (given = new Map()))
      given.set(toFeedId(key.subarray(33, 65)), value.toString('utf8'))
    }
    return names
  }
}
