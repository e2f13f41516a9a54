// What the person has read (conversations, notifications), kept in the store's local state so it
// survives restarts and is never replicated, and hashtag lookup for search.
import type { ClientApiSpec, FeedId, Handlers, HashtagView, LivePost, MessageId } from '@hearsay/client-api'
import { isMessageId } from '@hearsay/keys'
import { conversation, normalizeTag, notifications, type Conversation, type Store } from '@hearsay/store'
import { badArgument, guarded, stringArg, type HandlerContext } from './handlers.ts'
import { pushStream } from './streams.ts'
import { isPost } from './views.ts'

type ReadingHandlers = Pick<Handlers<ClientApiSpec>, 'markConversationRead' | 'privateMessagesLive' | 'unreadNotifications' | 'markNotificationsSeen' | 'findHashtags'>

/** Conversation root → the id of its latest post when it was last opened. */
const CONVERSATIONS_READ = 'conversations-read'
/** `seen` → the newest notification's time when the list was last looked at. */
const NOTIFICATIONS_SEEN = 'notifications-seen'
/** The unread count stops here ("99+"): counting further would page through old notifications. */
export const MAX_UNREAD_COUNTED = 99
const DEFAULT_HASHTAGS = 10
const MAX_HASHTAGS = 50

/** Whether `conversation` has a post from someone else newer than what we last read of it. */
export async function isUnread(store: Store, me: FeedId, found: Conversation): Promise<boolean> {
  if (found.latest.value.author === me) return false
  return (await store.localState<string>(CONVERSATIONS_READ).get(found.root)) !== found.latest.key
}

export function readingHandlers(context: HandlerContext): ReadingHandlers {
  return {
    markConversationRead: guarded(async (root: unknown) => {
      if (!isMessageId(root)) throw badArgument('root must be a message id (%….sha256)')
      const { store } = await context.session()
      const messages = await conversation(store, root as MessageId)
      const latest = messages.at(-1)
      if (latest) await store.localState<string>(CONVERSATIONS_READ).put(root, latest.key)
    }),

    // Over the session in use when it opens: a restore reloads the UI, which opens a new one.
    privateMessagesLive: () =>
      pushStream<LivePost>((push, fail) => {
        let stop = () => {}
        let stopped = false
        context.session().then((session) => {
          if (stopped) return
          stop = session.store.subscribe((message) => {
            if (!message.private || !isPost(message)) return
            session.views.posts([message]).then(({ posts, authors }) => push({ post: posts[0]!, authors }), fail)
          })
          session.ended.signal.addEventListener('abort', () => stop(), { once: true })
        }, fail)
        return () => {
          stopped = true
          stop()
        }
      }),

    unreadNotifications: guarded(async () => {
      const { store, identity } = await context.session()
      const seen = (await store.localState<number>(NOTIFICATIONS_SEEN).get('seen')) ?? 0
      const page = await notifications(store, identity.id, { limit: MAX_UNREAD_COUNTED })
      return page.items.filter((item) => item.message.value.timestamp > seen).length
    }),

    markNotificationsSeen: guarded(async () => {
      const { store, identity } = await context.session()
      const newest = (await notifications(store, identity.id, { limit: 1 })).items[0]
      const state = store.localState<number>(NOTIFICATIONS_SEEN)
      const seen = (await state.get('seen')) ?? 0
      if (newest && newest.message.value.timestamp > seen) await state.put('seen', newest.message.value.timestamp)
    }),

    findHashtags: guarded(async (prefix: unknown, options?: unknown) => {
      const limit = options === undefined || options === null ? DEFAULT_HASHTAGS : (options as { limit?: unknown }).limit ?? DEFAULT_HASHTAGS
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw badArgument('limit must be a positive whole number')
      const { store } = await context.session()
      const start = normalizeTag(stringArg(prefix, 'prefix'))
      return start === null ? [] : hashtagsStartingWith(store, start, Math.min(limit, MAX_HASHTAGS))
    }),
  }
}

/**
 * Distinct tags of the hashtags index (keys `tag ‖ NUL ‖ …`, see hashtagsIndex) that start with
 * `prefix`: one key read per tag, each skipping past every entry of the tag before.
 */
async function hashtagsStartingWith(store: Store, prefix: string, limit: number): Promise<HashtagView[]> {
  const reader = store.indexReader('hashtags')
  const start = Buffer.from(prefix, 'utf8')
  const end = Buffer.concat([start, Buffer.from([0xff])])
  const found: HashtagView[] = []
  let from: Buffer = start
  while (found.length < limit) {
    let next: Buffer | undefined
    for await (const key of reader.keys({ gte: from, lt: end, limit: 1 })) next = key
    if (!next) break
    const nul = next.indexOf(0)
    if (nul < 0) break
    const tag = next.subarray(0, nul)
    found.push({ tag: tag.toString('utf8') })
    // Past every key of this tag: tag ‖ NUL ‖ anything sorts before tag ‖ 0x01.
    from = Buffer.concat([tag, Buffer.from([1])])
  }
  return found
}
