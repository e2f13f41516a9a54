import { feedPublicKey, messageHash, type FeedId, type MessageId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { FOLLOWING, INCOMING } from '../indexes/contacts.ts'
import { publicContent, rootOf } from '../indexes/content.ts'
import { encodeCursor, pageSize, type Page, type PageOptions } from './page.ts'
import { decodeOrderCursor, entriesUnder, keysUnder, mapConcurrent, offsetOfOrder, orderOf } from './merge.ts'
import { votersOf } from './votes.ts'
import { contactsOf } from './contacts.ts'

export type NotificationKind = 'mention' | 'reply' | 'like' | 'follow'

export interface Notification {
  kind: NotificationKind
  /** The message that notifies: the mentioning post, the reply, the vote, the contact. */
  message: IndexedMessage
}

/**
 * What notifications need to know about `me`, per store: its public messages, the threads it
 * started or replied in, and — read from the threads and votes indexes, then re-read only when a
 * new reply or vote touches them — the order keys of those threads' replies and of the current
 * likes of those messages. The indexes stay the single source of truth: a store subscription
 * only marks which threads and messages to read again, so a page costs a few index reads rather
 * than one per thread and per message `me` ever wrote. The subscription ends when the store
 * closes (which drops every listener); the state goes with the store.
 */
export interface Participation {
  messages: Set<MessageId>
  threads: Set<MessageId>
}

interface NotificationState extends Participation {
  /** Thread root → order keys of its replies (everyone's; filtered when paging). */
  replies: Map<MessageId, Buffer[]>
  /** `me`'s message → order keys of its current likes. */
  likes: Map<MessageId, Buffer[]>
  /** What to read again, with the generation it was marked in. */
  staleThreads: Map<MessageId, number>
  staleLikes: Map<MessageId, number>
  generation: number
  loaded: Promise<void>
}

const states = new WeakMap<Store, Map<FeedId, NotificationState>>()

function stateOf(store: Store, me: FeedId): NotificationState {
  let perStore = states.get(store)
  if (!perStore) states.set(store, (perStore = new Map()))
  const known = perStore.get(me)
  if (known) return known
  const state: NotificationState = {
    messages: new Set(), threads: new Set(), replies: new Map(), likes: new Map(),
    staleThreads: new Map(), staleLikes: new Map(), generation: 0, loaded: Promise.resolve(),
  }
  // Subscribed before reading `me`'s feed, so nothing falls between; seeing a message twice
  // only marks something stale twice.
  const unsubscribe = store.subscribe((message) => observe(state, me, message))
  state.loaded = (async () => {
    for await (const message of store.readFeed(me)) participate(state, message)
  })()
  state.loaded.catch(() => {
    unsubscribe()
    perStore.delete(me)
  })
  perStore.set(me, state)
  return state
}

/** Where `me` takes part, kept current for as long as the store is open. */
export async function participationOf(store: Store, me: FeedId): Promise<Participation> {
  const state = stateOf(store, me)
  await state.loaded
  return state
}

function participate(state: NotificationState, message: IndexedMessage): void {
  const content = publicContent(message)
  if (!content || state.messages.has(message.key)) return
  state.messages.add(message.key)
  state.staleLikes.set(message.key, ++state.generation)
  if (content.type !== 'post') return
  const root = rootOf(content) ?? message.key
  if (state.threads.has(root)) return
  state.threads.add(root)
  state.staleThreads.set(root, ++state.generation)
}

function observe(state: NotificationState, me: FeedId, message: IndexedMessage): void {
  const content = publicContent(message)
  if (!content) return
  if (message.value.author === me) participate(state, message)
  const root = rootOf(content)
  if (root !== null && state.threads.has(root)) state.staleThreads.set(root, ++state.generation)
  if (content.type === 'vote') {
    const link = (content.vote as { link?: unknown } | null)?.link as MessageId | undefined
    if (link !== undefined && state.messages.has(link)) state.staleLikes.set(link, ++state.generation)
  }
}

const READ_CONCURRENCY = 32

/** Reads again what went stale: replies of threads, likes of messages (never-liked ones in one multi-get). */
async function refresh(store: Store, state: NotificationState): Promise<void> {
  await state.loaded
  const settle = (stale: Map<MessageId, number>, id: MessageId, generation: number) => {
    if (stale.get(id) === generation) stale.delete(id)
  }
  const threads = [...state.staleThreads]
  const targets = [...state.staleLikes]
  const markers = targets.length > 0 ? await store.indexReader('votes').getMany(targets.map(([id]) => messageHash(id))) : []
  await Promise.all([
    mapConcurrent(threads, READ_CONCURRENCY, async ([root, generation]) => {
      state.replies.set(root, (await keysUnder(store.indexReader('threads'), messageHash(root))).map(orderOf))
      settle(state.staleThreads, root, generation)
    }),
    mapConcurrent(targets.map(([id, generation], i) => ({ id, generation, liked: markers[i] !== undefined })), READ_CONCURRENCY, async ({ id, generation, liked }) => {
      const likes = liked ? (await votersOf(store, messageHash(id))).map(([, order]) => order) : []
      if (likes.length > 0) state.likes.set(id, likes)
      else state.likes.delete(id)
      settle(state.staleLikes, id, generation)
    }),
  ])
}

interface Candidate {
  order: Buffer
  kind: NotificationKind
}

/**
 * What happened to `me`, newest first: public messages mentioning `me`, public post replies in
 * threads `me` started or replied in, likes (current public votes with value > 0) of `me`'s
 * messages, and feeds whose current contact edge to `me` is a follow. Never `me`'s own messages,
 * nor those of feeds `me` blocks. A message that both mentions `me` and replies is a 'mention'.
 *
 * The first call per store reads `me`'s feed, the replies of its threads and the likes of its
 * messages; later calls read only what changed since (see Participation), plus the mentions of
 * and follows of `me`. Then only a page of messages is loaded.
 */
export async function notifications(store: Store, me: FeedId, options: PageOptions = {}): Promise<Page<Notification>> {
  const limit = pageSize(options)
  const before = decodeOrderCursor(options.cursor)
  const myKey = feedPublicKey(me)
  const state = stateOf(store, me)
  const [mentions, follows, contacts] = await Promise.all([
    keysUnder(store.indexReader('mentions'), myKey, before ? { lt: Buffer.concat([myKey, before]) } : {}),
    entriesUnder(store.indexReader('contacts'), Buffer.concat([Buffer.of(INCOMING), myKey])),
    contactsOf(store, me),
    refresh(store, state),
  ])
  const olderThanCursor = (order: Buffer) => !before || Buffer.compare(order, before) < 0

  // One candidate per message, the first kind found winning: mention, reply, like, follow.
  const candidates = new Map<number, Candidate>()
  const add = (order: Buffer, kind: NotificationKind) => {
    const offset = offsetOfOrder(order)
    if (!candidates.has(offset)) candidates.set(offset, { order, kind })
  }
  for (const key of mentions) add(orderOf(key), 'mention')
  for (const orders of state.replies.values()) for (const order of orders) if (olderThanCursor(order)) add(order, 'reply')
  for (const orders of state.likes.values()) for (const order of orders) if (olderThanCursor(order)) add(order, 'like')
  for (const [, value] of follows) {
    const order = value.subarray(1)
    if (value[0] === FOLLOWING && olderThanCursor(order)) add(order, 'follow')
  }
  const sorted = [...candidates.values()].sort((a, b) => Buffer.compare(b.order, a.order))

  const items: Notification[] = []
  let examined = 0
  while (items.length < limit && examined < sorted.length) {
    const batch = sorted.slice(examined, examined + (limit - items.length))
    const messages = await store.getByOffsets(batch.map((c) => offsetOfOrder(c.order)))
    for (let i = 0; i < batch.length && items.length < limit; i++) {
      examined++
      const message = messages[i]!
      const author = message.value.author
      if (author === me || contacts.blocking.has(author)) continue
      const kind = batch[i]!.kind
      if (kind === 'reply' && publicContent(message)?.type !== 'post') continue
      items.push({ kind, message })
    }
  }
  return examined < sorted.length && items.length > 0 ? { items, cursor: encodeCursor(sorted[examined - 1]!.order) } : { items }
}
