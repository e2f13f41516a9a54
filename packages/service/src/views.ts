// Indexed messages into the plain JSON views the UI renders (see @hearsay/client-api's views).
import { isBlobId, isFeedId, messageHash, type FeedId } from '@hearsay/keys'
import type { AuthorView, BlobId, MentionView, MessageId, PostView } from '@hearsay/client-api'
import {
  branchesOf, contactsOf, hashtagsOf, mentionedFeeds, profile, recipients, rootOf, votesFor,
  type IndexedMessage, type Profile, type PublicContent, type Store, type Votes,
} from '@hearsay/store'

/** Content as the views read it: public, or private and decrypted for us. */
export function contentOf(message: IndexedMessage): PublicContent | null {
  const { content } = message.value
  return typeof content === 'object' && content !== null && typeof content.type === 'string' ? (content as PublicContent) : null
}

export function isPost(message: IndexedMessage): boolean {
  return contentOf(message)?.type === 'post'
}

/** How many feeds' AuthorViews a ViewBuilder keeps; beyond it the least recently read are dropped. */
export const AUTHOR_CACHE_SIZE = 5000

const NO_LIKES: Votes = { count: 0, voters: [] }

/**
 * Builds views for one viewer (`me`), reading names and likes from the store. A page of posts
 * costs a handful of reads, not several per post: likes are looked up for the whole page at once,
 * and how each feed shows is kept between calls until a message that could change it arrives.
 */
export class ViewBuilder {
  /** Promises, so concurrent pages naming one feed read it once; dropped when they fail. */
  private readonly authorViews = new Map<FeedId, Promise<AuthorView>>()
  private myFollowing: Promise<ReadonlySet<FeedId>> | null = null

  constructor(
    readonly store: Store,
    readonly me: FeedId,
  ) {
    // The store drops its listeners when it closes, as this builder's session ends.
    store.subscribe((message) => this.forgetWhatChanges(message))
  }

  /** Posts (others skipped) with the authors and @mentions they name. */
  async posts(messages: readonly IndexedMessage[]): Promise<{ posts: PostView[]; authors: Record<FeedId, AuthorView> }> {
    const postMessages = messages.filter(isPost)
    const [posts, authors] = await Promise.all([
      this.postViews(postMessages),
      this.authors(postMessages.flatMap((message) => [message.value.author, ...mentionedFeeds(contentOf(message)!)])),
    ])
    return { posts, authors }
  }

  async post(message: IndexedMessage): Promise<PostView> {
    return (await this.postViews([message]))[0]!
  }

  /** How each feed shows: `AuthorView`s, keyed by id. Ids that are not valid feed ids are left out. */
  async authors(feeds: Iterable<FeedId>): Promise<Record<FeedId, AuthorView>> {
    const distinct = [...new Set(feeds)].filter(isFeedId)
    if (distinct.length === 0) return {}
    const views = await Promise.all(distinct.map((feed) => this.authorView(feed)))
    return Object.fromEntries(views.map((view) => [view.id, view]))
  }

  async author(feed: FeedId): Promise<AuthorView> {
    return (await this.authors([feed]))[feed]!
  }

  private async postViews(messages: readonly IndexedMessage[]): Promise<PostView[]> {
    const contents = messages.map((message) => contentOf(message)!)
    const roots = contents.map(rootOf)
    const [likes, replyCounts] = await Promise.all([
      this.likesOf(messages),
      Promise.all(messages.map((message, i) => (roots[i] === null ? this.replyCount(message.key) : 0))),
    ])
    return messages.map((message, i) => {
      const content = contents[i]!
      const warning = content.contentWarning
      return {
        id: message.key,
        author: message.value.author,
        sequence: message.value.sequence,
        timestamp: message.value.timestamp,
        text: typeof content.text === 'string' ? content.text : '',
        root: roots[i]!,
        branch: branchesOf(content),
        mentions: mentionsOf(content),
        hashtags: hashtagsOf(content),
        contentWarning: typeof warning === 'string' && warning.trim() !== '' ? warning : null,
        recps: message.private ? recipients(message) : null,
        likes: { count: likes[i]!.count, byMe: likes[i]!.voters.includes(this.me) },
        replyCount: replyCounts[i]!,
      }
    })
  }

  /**
   * The likes of each message. Most posts were never liked: one multi-get of the votes index's
   * "liked at some point" markers finds those that were, and only they get a range read.
   */
  private async likesOf(messages: readonly IndexedMessage[]): Promise<Votes[]> {
    if (messages.length === 0) return []
    const markers = await this.store.indexReader('votes').getMany(messages.map((message) => messageHash(message.key)))
    return Promise.all(messages.map((message, i) => (markers[i] === undefined ? NO_LIKES : votesFor(this.store, message.key))))
  }

  /** How many public messages reply in the thread `root` starts (the threads index, counted). */
  private async replyCount(root: MessageId): Promise<number> {
    // threads index keys are root(32) ‖ sortTime ‖ offset.
    const prefix = messageHash(root)
    let count = 0
    for await (const _key of this.store.indexReader('threads').keys({ gt: prefix, lt: prefixEnd(prefix) })) count++
    return count
  }

  private authorView(feed: FeedId): Promise<AuthorView> {
    const known = this.authorViews.get(feed)
    if (known) {
      // Read again: now the most recently used (a Map keeps insertion order).
      this.authorViews.delete(feed)
      this.authorViews.set(feed, known)
      return known
    }
    const view = Promise.all([profile(this.store, feed), this.following()]).then(([about, following]) => authorView(feed, about, this.me, following))
    view.catch(() => {
      if (this.authorViews.get(feed) === view) this.authorViews.delete(feed)
    })
    this.authorViews.set(feed, view)
    if (this.authorViews.size > AUTHOR_CACHE_SIZE) this.authorViews.delete(this.authorViews.keys().next().value!)
    return view
  }

  private following(): Promise<ReadonlySet<FeedId>> {
    if (!this.myFollowing) {
      const following = contactsOf(this.store, this.me).then((contacts) => contacts.following)
      following.catch(() => {
        if (this.myFollowing === following) this.myFollowing = null
      })
      this.myFollowing = following
    }
    return this.myFollowing
  }

  /**
   * A feed shows by what `about` messages say of it, and by names the feeds we follow gave it:
   * an about drops the view of the feed it is about, a follow or unfollow of ours drops them all.
   * (Called once the message's index entries are written, so a read after this sees them.)
   */
  private forgetWhatChanges(message: IndexedMessage): void {
    const content = contentOf(message)
    if (content?.type === 'about' && typeof content.about === 'string') {
      this.authorViews.delete(content.about as FeedId)
    } else if (content?.type === 'contact' && message.value.author === this.me) {
      this.myFollowing = null
      this.authorViews.clear()
    }
  }
}

/**
 * A feed's display: the name it gave itself, else the one we gave it, else one a feed we follow
 * gave it; its self-chosen avatar when that is a blob id.
 */
export function authorView(feed: FeedId, about: Profile, me: FeedId, following: ReadonlySet<FeedId>): AuthorView {
  let name = about.name
  if (name === null) {
    const byMe = about.namesGivenByOthers.find((given) => given.by === me)
    name = byMe?.name ?? about.namesGivenByOthers.find((given) => following.has(given.by))?.name ?? null
  }
  return { id: feed, name, image: isBlobId(about.image) ? (about.image as BlobId) : null }
}

/** `content.mentions` as `{link, name?}`, whatever shape each entry was written in. */
function mentionsOf(content: PublicContent): MentionView[] {
  if (!Array.isArray(content.mentions)) return []
  const mentions: MentionView[] = []
  for (const mention of content.mentions as unknown[]) {
    if (typeof mention === 'string') {
      mentions.push({ link: mention })
    } else if (typeof mention === 'object' && mention !== null) {
      const { link, name } = mention as { link?: unknown; name?: unknown }
      if (typeof link !== 'string') continue
      mentions.push(typeof name === 'string' ? { link, name } : { link })
    }
  }
  return mentions
}

/** The first key after every key starting with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.concat([prefix, Buffer.of(0xff)])
}
