// Live queries: what arrives after a query ran. Every query has a live twin that streams the
// messages stored from the moment it is called on, filtered the way the query's index filters
// them (private messages never pass). Typical use: run the query, start its live twin at the
// same time, render the page, then prepend what the live stream yields:
//
//   const controller = new AbortController()
//   const live = homeFeedLive(store, me, { signal: controller.signal }) // subscribed now
//   render((await homeFeed(store, me)).items)
//   for await (const message of live) prepend(message)                 // until aborted
//
// A live stream subscribes when it is created (not on the first `next()`), so nothing stored
// between the query and the loop is missed; a message may then be in both the page and the
// stream, which callers dedupe by key. It ends, and unsubscribes, when `return()` is called
// (a `break` out of `for await` does that), or when `signal` aborts; it buffers what arrives
// while nobody reads. Closing the store does not end it: abort it first.
//
// For aggregates (profile, votesFor, followers, hops…), the live twin streams the messages that
// can change the aggregate; re-run the query when one arrives.
import type { BlobId, FeedId, MessageId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { hashtagsOf, mentionedFeeds, messageBytes, normalizeTag, publicContent, refsIn, rootOf, type PublicContent } from '../indexes/content.ts'
import { homeAuthors } from './feeds.ts'
import { contactsOf } from './contacts.ts'
import { participationOf, type Notification } from './notifications.ts'

export interface LiveOptions {
  /** Ends the stream when aborted. */
  signal?: AbortSignal
}

/** An async iterator that is its own iterable, as async generators are. */
export type LiveStream<T> = AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T, undefined>> }

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined }

/**
 * Every message stored from now on that `accept` lets through, in storage order. `accept` sees
 * private messages too (`message.private`); a throw from it ends the stream with that error.
 */
export function liveQuery(store: Store, accept: (message: IndexedMessage) => boolean, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return new LiveQuery(store, accept, options.signal)
}

class LiveQuery implements LiveStream<IndexedMessage> {
  /** Arrived, not yet read: `queue[head…]`. */
  private queue: IndexedMessage[] = []
  private head = 0
  private readonly waiting: Array<{ resolve: (result: IteratorResult<IndexedMessage, undefined>) => void; reject: (err: unknown) => void }> = []
  private ended = false
  private error: unknown = undefined
  private unsubscribe: (() => void) | null = null
  private readonly onAbort = () => this.end()

  constructor(store: Store, private readonly accept: (message: IndexedMessage) => boolean, private readonly signal: AbortSignal | undefined) {
    if (signal?.aborted) {
      this.ended = true
      return
    }
    this.unsubscribe = store.subscribe((message) => this.offer(message))
    signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  next(): Promise<IteratorResult<IndexedMessage, undefined>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!
      if (this.head === this.queue.length) {
        this.queue = []
        this.head = 0
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      return Promise.resolve({ done: false, value })
    }
    if (this.error !== undefined) {
      const error = this.error
      this.error = undefined
      return Promise.reject(error)
    }
    if (this.ended) return Promise.resolve(DONE)
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  return(): Promise<IteratorResult<IndexedMessage, undefined>> {
    this.end()
    this.queue = []
    this.head = 0
    return Promise.resolve(DONE)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  private offer(message: IndexedMessage): void {
    if (this.ended) return
    let accepted: boolean
    try {
      accepted = this.accept(message)
    } catch (err) {
      this.end(err)
      return
    }
    if (!accepted) return
    const waiter = this.waiting.shift()
    if (waiter) waiter.resolve({ done: false, value: message })
    else this.queue.push(message)
  }

  private end(error?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.unsubscribe?.()
    this.unsubscribe = null
    this.signal?.removeEventListener('abort', this.onAbort)
    const waiters = this.waiting.splice(0)
    // An error goes to whoever waits, or else to the next `next()`.
    if (error !== undefined && waiters.length === 0) this.error = error
    for (const waiter of waiters) {
      if (error !== undefined) waiter.reject(error)
      else waiter.resolve(DONE)
    }
  }
}

/**
 * A live stream mapped through an async step, in order: `step` returns what to yield, or
 * undefined to skip. Ending it ends (and unsubscribes) the source.
 */
export function mapLive<S, T>(source: LiveStream<S>, step: (item: S) => Promise<T | undefined> | T | undefined): LiveStream<T> {
  let chain: Promise<unknown> = Promise.resolve()
  const pull = async (): Promise<IteratorResult<T, undefined>> => {
    for (;;) {
      const next = await source.next()
      if (next.done) return DONE
      const value = await step(next.value)
      if (value !== undefined) return { done: false, value }
    }
  }
  const stream: LiveStream<T> = {
    next() {
      const result = chain.then(pull, pull)
      chain = result.catch(() => undefined)
      return result
    },
    async return() {
      await source.return()
      return DONE
    },
    [Symbol.asyncIterator]() {
      return stream
    },
  }
  return stream
}

function publicOf(message: IndexedMessage, type?: string): PublicContent | null {
  const content = publicContent(message)
  return content !== null && (type === undefined || content.type === type) ? content : null
}

/** Live twin of `homeFeed`: posts by the feeds `me` follows (as follows change) and by `me`. */
export function homeFeedLive(store: Store, me: FeedId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  const source = liveQuery(store, (m) => publicOf(m, 'post') !== null || (m.value.author === me && publicOf(m, 'contact') !== null), options)
  // Loaded after subscribing: a contact of `me` stored meanwhile is applied again, harmlessly,
  // since each contact message alone decides its edge.
  const loading = homeAuthors(store, me)
  loading.catch(() => undefined)
  return mapLive(source, async (message) => {
    const authors = await loading
    const content = publicContent(message)!
    if (content.type === 'contact') {
      const contact = content.contact as FeedId
      if (typeof contact !== 'string' || contact === me) return undefined
      const follows = content.following === true && content.blocking !== true && content.flagged !== true
      if (follows) authors.add(contact)
      else authors.delete(contact)
      return undefined
    }
    return authors.has(message.value.author) ? message : undefined
  })
}

/** Live twin of `profilePosts`. */
export function profilePostsLive(store: Store, feed: FeedId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => m.value.author === feed && publicOf(m, 'post') !== null, options)
}

/** Live twin of `thread`: new public replies in the thread, in arrival (not causal) order. */
export function threadLive(store: Store, rootId: MessageId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => {
    const content = publicOf(m)
    return content !== null && rootOf(content) === rootId
  }, options)
}

/** Live twin of `hashtagFeed`. */
export function hashtagFeedLive(store: Store, tag: string, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  const normal = normalizeTag(tag)
  return liveQuery(store, (m) => {
    const content = publicOf(m)
    return normal !== null && content !== null && hashtagsOf(content).includes(normal)
  }, options)
}

/** Live twin of `backlinksOf`. */
export function backlinksOfLive(store: Store, ref: FeedId | MessageId | BlobId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => {
    const content = publicOf(m)
    return content !== null && refsIn(content).includes(ref)
  }, options)
}

/** For `votesFor`: public votes on `id` (likes, unlikes, changes of mind). */
export function votesLive(store: Store, id: MessageId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => {
    const vote = publicOf(m, 'vote')?.vote
    return typeof vote === 'object' && vote !== null && (vote as { link?: unknown }).link === id
  }, options)
}

/** For `profile`: public about messages about `feed`. */
export function profileLive(store: Store, feed: FeedId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => publicOf(m, 'about')?.about === feed, options)
}

/**
 * For `followers`, `following`, `blocked`, `isFollowing` and `hops`: public contact messages by
 * or about `feed`, or all of them without `feed` (any one can change hops).
 */
export function contactsLive(store: Store, feed?: FeedId, options: LiveOptions = {}): LiveStream<IndexedMessage> {
  return liveQuery(store, (m) => {
    const content = publicOf(m, 'contact')
    return content !== null && (feed === undefined || m.value.author === feed || content.contact === feed)
  }, options)
}

/** Live twin of `notifications`, with the same kinds and the same exclusions. */
export function notificationsLive(store: Store, me: FeedId, options: LiveOptions = {}): LiveStream<Notification> {
  const source = liveQuery(store, (m) => publicOf(m) !== null, options)
  const loading = Promise.all([participationOf(store, me), contactsOf(store, me)])
  loading.catch(() => undefined)
  return mapLive(source, async (message): Promise<Notification | undefined> => {
    const [mine, { blocking }] = await loading
    const content = publicContent(message)!
    const author = message.value.author
    if (author === me) {
      // Keep the blocks later messages are judged against current (participationOf follows
      // `me`'s threads by itself).
      if (content.type === 'contact' && typeof content.contact === 'string') {
        if (content.blocking === true || content.flagged === true) blocking.add(content.contact as FeedId)
        else blocking.delete(content.contact as FeedId)
      }
      return undefined
    }
    if (blocking.has(author)) return undefined
    if (mentionedFeeds(content).includes(me)) return { kind: 'mention', message }
    const root = rootOf(content)
    if (content.type === 'post' && root !== null && mine.threads.has(root)) return { kind: 'reply', message }
    if (content.type === 'vote') {
      const vote = content.vote as { link?: unknown; value?: unknown } | null
      if (typeof vote !== 'object' || vote === null || !(Number(vote.value) > 0) || !messageBytes(vote.link)) return undefined
      const target = await store.get(vote.link as MessageId)
      return target?.value.author === me ? { kind: 'like', message } : undefined
    }
    if (content.type === 'contact' && content.contact === me && content.following === true && content.blocking !== true && content.flagged !== true) {
      return { kind: 'follow', message }
    }
    return undefined
  })
}
