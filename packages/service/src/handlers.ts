// The client API implemented over a running peer: every method of `clientApi`, reading through
// the store's queries and writing the SSB content Patchwork and Manyverse write.
import {
  ApiError, draftTooLarge, postContent, signedSizeOf,
  type BlobAdded, type BlobId, type BlobUpload, type ClientApiSpec, type ConversationView, type FeedId, type Handlers,
  type LivePost, type MessageId, type NotificationView, type PageOptions, type PostPage, type ProfileEdit, type ProfileView,
  type StatusView,
} from '@hearsay/client-api'
import { InvalidRefError, isBlobId, isFeedId, isMessageId, type Identity } from '@hearsay/keys'
import { boxContent, Box1Error } from '@hearsay/box1'
import type { BlobStore } from '@hearsay/blobs'
import type { Peer } from '@hearsay/network'
import {
  contactsOf, conversation, followers, following, hashtagFeed, homeFeed, homeFeedLive, inbox, isFollowing, notifications,
  mapLive, notificationsLive, profile, profilePosts, releaseReclaimedFeed, search, thread, threadLive, votesFor,
  type IndexedMessage, type Notification, type Page, type Store,
} from '@hearsay/store'
import { isPost, ViewBuilder } from './views.ts'
import { PeopleDirectory } from './people.ts'
import { pushStream, type StoppableStream } from './streams.ts'
import { throttled, type StatusTracker } from './status.ts'
import { ImageMetadataError, sniffImageType, stripImageMetadata } from './image-metadata.ts'
import { accountHandlers } from './account-handlers.ts'
import { inviteHandlers } from './invite-handlers.ts'
import { connectionHandlers } from './connection-handlers.ts'
import { settingsHandlers } from './settings-handlers.ts'
import { isUnread, readingHandlers } from './reading-handlers.ts'
import type { RestoreGuard } from './restore-guard.ts'
import type { SessionSettings } from './settings.ts'

/** What the handlers work over while one identity is in use; replaced whole by adoptSecret. */
export interface Session {
  identity: Identity
  store: Store
  peer: Peer
  views: ViewBuilder
  people: PeopleDirectory
  /** Aborted when the session ends: live streams over its store end with it. */
  ended: AbortController
  /** Fork protection after a restore; `store` refuses to publish while it is pending. */
  restore: RestoreGuard
  /** Replication hops and LAN discovery, applied to `peer` and saved. */
  settings: SessionSettings
}

export interface HandlerContext {
  /** The session in use now (waits while adoptSecret is switching identities). */
  session(): Promise<Session>
  /** Switches to `identity`: restarts the peer and reopens the store as it. */
  adopt(identity: Identity): Promise<void>
  blobs: BlobStore
  status: StatusTracker
  /** The data directory (identity, store, blobs), shown in Settings. */
  dataDir: string
  /** Unlinked blobs younger than this (ms) survive reclaimSpace. */
  blobGracePeriod: number
}

/** statusLive's fastest pace: a few updates a second. */
export const STATUS_INTERVAL = 250
/** Largest upload addBlob accepts (what peers fetch automatically, ssb-blobs' default). */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024

export function badArgument(message: string): ApiError {
  return new ApiError({ name: 'TypeError', code: 'EAPI_BAD_ARGUMENT', message })
}

function preview(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 80)
}

function feedArg(value: unknown, what = 'feed'): FeedId {
  if (!isFeedId(value)) throw badArgument(`${what} must be a feed id (@….ed25519), not ${preview(value)}`)
  return value
}

function messageArg(value: unknown, what = 'message'): MessageId {
  if (!isMessageId(value)) throw badArgument(`${what} must be a message id (%….sha256), not ${preview(value)}`)
  return value
}

function booleanArg(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw badArgument(`${what} must be true or false, not ${preview(value)}`)
  return value
}

export function stringArg(value: unknown, what: string): string {
  if (typeof value !== 'string') throw badArgument(`${what} must be text, not ${preview(value)}`)
  return value
}

function pageArg(value: unknown): PageOptions {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw badArgument('page options must be an object {limit?, cursor?}')
  const { limit, cursor } = value as Record<string, unknown>
  const options: PageOptions = {}
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw badArgument(`limit must be a positive whole number, not ${preview(limit)}`)
    options.limit = limit
  }
  if (cursor !== undefined) options.cursor = stringArg(cursor, 'cursor')
  return options
}

/** Errors about the caller's input, whichever layer noticed, cross the API as EAPI_BAD_ARGUMENT. */
function asArgumentError(err: unknown): unknown {
  if (err instanceof RangeError || err instanceof InvalidRefError) return badArgument(err.message)
  if (err instanceof Box1Error && err.code === 'EBOXRECIPIENTS') return badArgument(err.message)
  return err
}

export function guarded<Args extends unknown[], Result>(fn: (...args: Args) => Promise<Result>): (...args: Args) => Promise<Result> {
  return async (...args) => {
    try {
      return await fn(...args)
    } catch (err) {
      throw asArgumentError(err)
    }
  }
}

export function createHandlers(context: HandlerContext): Handlers<ClientApiSpec> {
  const postPage = async (session: Session, page: Page<IndexedMessage>): Promise<PostPage> => {
    const { posts, authors } = await session.views.posts(page.items)
    return page.cursor === undefined ? { items: posts, authors } : { items: posts, cursor: page.cursor, authors }
  }

  const livePosts = (session: Session, source: StoppableStream<IndexedMessage>) =>
    mapLive(source, async (message): Promise<LivePost | undefined> => {
      if (!isPost(message)) return undefined
      const { posts, authors } = await session.views.posts([message])
      return { post: posts[0]!, authors }
    })

  const profileView = async (session: Session, feed: FeedId): Promise<ProfileView> => {
    const { store, identity } = session
    const me = identity.id
    const [about, theirFollowers, theirFollowing, mine] = await Promise.all([
      profile(store, feed), followers(store, feed), following(store, feed), contactsOf(store, me),
    ])
    const author = await session.views.author(feed)
    return {
      ...author,
      description: about.description,
      namesGivenByOthers: about.namesGivenByOthers,
      followers: theirFollowers.length,
      following: theirFollowing.length,
      youFollow: feed !== me && mine.following.has(feed),
      youBlock: feed !== me && mine.blocking.has(feed),
      followsYou: feed !== me && (await isFollowing(store, feed, me)),
      isMe: feed === me,
    }
  }

  const contactsView = async (session: Session, feeds: FeedId[]) => {
    const authors = await session.views.authors(feeds)
    return { items: feeds.map((feed) => authors[feed]!) }
  }

  const notificationView = async (session: Session, notification: Notification): Promise<NotificationView> => {
    const { message, kind } = notification
    let post = null
    if (kind === 'like') {
      const link = (message.value.content as { vote?: { link?: unknown } }).vote?.link
      const liked = isMessageId(link) ? await session.store.get(link, { decrypt: true }) : null
      if (liked && isPost(liked)) post = await session.views.post(liked)
    } else if (kind !== 'follow' && isPost(message)) {
      post = await session.views.post(message)
    }
    return { kind, from: message.value.author, post, messageId: message.key, timestamp: message.value.timestamp }
  }

  const namesOf = (session: Session, notes: NotificationView[]) =>
    session.views.authors(notes.flatMap((note) => [note.from, ...(note.post ? [note.post.author] : [])]))

  const publish = async (session: Session, content: Record<string, unknown> & { type: string }) =>
    session.store.publish(session.identity, content)

  const statusView = (session: Session): Promise<StatusView> => context.status.view((feeds) => session.views.authors(feeds))

  return {
    ...accountHandlers(context),
    ...readingHandlers(context),
    ...inviteHandlers(context),
    ...connectionHandlers(context),
    ...settingsHandlers(context),

    homeFeed: guarded(async (options?: unknown) => {
      const session = await context.session()
      return postPage(session, await homeFeed(session.store, session.identity.id, pageArg(options)))
    }),

    homeFeedLive: () => {
      const sessionReady = context.session()
      return deferredStream(sessionReady, (session) => livePosts(session, homeFeedLive(session.store, session.identity.id, { signal: session.ended.signal })))
    },

    profileFeed: guarded(async (feed: unknown, options?: unknown) => {
      const session = await context.session()
      return postPage(session, await profilePosts(session.store, feedArg(feed), pageArg(options)))
    }),

    hashtagFeed: guarded(async (tag: unknown, options?: unknown) => {
      const session = await context.session()
      return postPage(session, await hashtagFeed(session.store, stringArg(tag, 'tag'), pageArg(options)))
    }),

    thread: guarded(async (root: unknown) => {
      const session = await context.session()
      const found = await thread(session.store, messageArg(root, 'root'))
      const messages = found.root ? [found.root, ...found.replies] : found.replies
      const { posts, authors } = await session.views.posts(messages)
      const rootView = found.root && isPost(found.root) ? posts[0]! : null
      return { root: rootView, replies: rootView ? posts.slice(1) : posts, authors }
    }),

    threadLive: (root: unknown) => {
      const id = messageArg(root, 'root')
      return deferredStream(context.session(), (session) => livePosts(session, threadLive(session.store, id, { signal: session.ended.signal })))
    },

    profile: guarded(async (feed: unknown) => profileView(await context.session(), feedArg(feed))),

    followers: guarded(async (feed: unknown) => {
      const session = await context.session()
      return contactsView(session, await followers(session.store, feedArg(feed)))
    }),

    following: guarded(async (feed: unknown) => {
      const session = await context.session()
      return contactsView(session, await following(session.store, feedArg(feed)))
    }),

    likes: guarded(async (post: unknown) => {
      const session = await context.session()
      const votes = await votesFor(session.store, messageArg(post, 'post'))
      const authors = await session.views.authors(votes.voters)
      return { count: votes.count, voters: votes.voters.map((feed) => authors[feed]!) }
    }),

    findPeople: guarded(async (text: unknown, options?: unknown) => {
      const session = await context.session()
      const limit = options === undefined || options === null ? undefined : (options as { limit?: unknown }).limit
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) throw badArgument('limit must be a positive whole number')
      return session.people.find(stringArg(text, 'text'), limit as number | undefined)
    }),

    search: guarded(async (query: unknown, options?: unknown) => {
      const session = await context.session()
      return postPage(session, await search(session.store, stringArg(query, 'query'), pageArg(options)))
    }),

    notifications: guarded(async (options?: unknown) => {
      const session = await context.session()
      const page = await notifications(session.store, session.identity.id, pageArg(options))
      const items = await Promise.all(page.items.map((item) => notificationView(session, item)))
      const authors = await namesOf(session, items)
      return page.cursor === undefined ? { items, authors } : { items, cursor: page.cursor, authors }
    }),

    notificationsLive: () =>
      deferredStream(context.session(), (session) =>
        mapLive(notificationsLive(session.store, session.identity.id, { signal: session.ended.signal }), async (notification) => {
          const view = await notificationView(session, notification)
          return { notification: view, authors: await namesOf(session, [view]) }
        }),
      ),

    inbox: guarded(async (options?: unknown) => {
      const session = await context.session()
      const page = await inbox(session.store, pageArg(options))
      const items: ConversationView[] = []
      const feeds: FeedId[] = []
      for (const conversation of page.items) {
        if (!isPost(conversation.latest)) continue
        const latest = await session.views.post(conversation.latest)
        const unread = await isUnread(session.store, session.identity.id, conversation)
        items.push({ root: conversation.root, recps: conversation.recps, latest, count: conversation.count, unread })
        feeds.push(...conversation.recps, latest.author)
      }
      const authors = await session.views.authors(feeds)
      return page.cursor === undefined ? { items, authors } : { items, cursor: page.cursor, authors }
    }),

    conversation: guarded(async (root: unknown) => {
      const session = await context.session()
      const id = messageArg(root, 'root')
      const { posts, authors } = await session.views.posts(await conversation(session.store, id))
      const rootView = posts[0]?.id === id ? posts[0] : null
      // Everyone it is addressed to is named, not only those who wrote.
      const recipients = await session.views.authors(posts.flatMap((post) => post.recps ?? []))
      return { root: rootView, replies: rootView ? posts.slice(1) : posts, authors: { ...recipients, ...authors } }
    }),

    publishPost: guarded(async (draft: unknown) => {
      const session = await context.session()
      const me = session.identity.id
      const content = postContent(draft as never, me)
      const status = await session.store.feedStatus(me)
      const size = signedSizeOf(content, me, status?.sequence ?? 0)
      if (size.length > size.limit) throw draftTooLarge(size)
      const { recps, ...rest } = content
      const final = recps ? boxContent({ ...rest, recps }, recps) : rest
      const stored = await session.store.publish(session.identity, final)
      const message = recps ? await session.store.get(stored.key, { decrypt: true }) : stored
      return session.views.post(message!)
    }),

    setLike: guarded(async (post: unknown, liked: unknown) => {
      const session = await context.session()
      const link = messageArg(post, 'post')
      const value = booleanArg(liked, 'liked')
      await publish(session, { type: 'vote', vote: { link, value: value ? 1 : 0, expression: value ? 'Like' : 'Unlike' } })
    }),

    setFollow: guarded(async (feed: unknown, follow: unknown) => {
      const session = await context.session()
      const contact = feedArg(feed)
      const state = booleanArg(follow, 'following')
      if (contact === session.identity.id) throw badArgument('you cannot follow or unfollow yourself')
      await publish(session, { type: 'contact', contact, following: state })
    }),

    setBlock: guarded(async (feed: unknown, block: unknown) => {
      const session = await context.session()
      const contact = feedArg(feed)
      const state = booleanArg(block, 'blocking')
      if (contact === session.identity.id) throw badArgument('you cannot block or unblock yourself')
      // Patchwork's block also stops following; an unblock leaves the feed unfollowed.
      await publish(session, state ? { type: 'contact', contact, following: false, blocking: true } : { type: 'contact', contact, blocking: false })
      if (state) {
        for (const connection of session.peer.connections) if (connection.id === contact) connection.close('blocked')
      } else {
        // Its messages, if reclaimed while blocked, may be fetched again.
        await releaseReclaimedFeed(session.store, contact)
      }
    }),

    editProfile: guarded(async (edit: unknown) => {
      const session = await context.session()
      const about = aboutContent(session.identity.id, edit)
      await publish(session, about)
      return profileView(session, session.identity.id)
    }),

    addBlob: guarded(async (upload: unknown) => {
      const { base64, mimeType } = blobUploadArg(upload)
      const raw = Buffer.from(base64, 'base64')
      if (raw.length === 0) throw badArgument('a blob needs some bytes')
      if (raw.length > MAX_UPLOAD_BYTES) throw badArgument(`a blob is at most ${MAX_UPLOAD_BYTES} bytes; this one is ${raw.length}`)
      let bytes: Buffer
      try {
        bytes = stripImageMetadata(raw)
      } catch (err) {
        if (err instanceof ImageMetadataError) throw new ApiError({ name: err.name, code: err.code, message: err.message })
        throw err
      }
      const id = await context.blobs.add(bytes)
      const added: BlobAdded = { id: id as BlobId, size: bytes.length, mimeType: sniffImageType(bytes) ?? safeMimeType(mimeType) }
      return added
    }),

    status: guarded(async () => statusView(await context.session())),

    // Each update reads the session in use then, so the stream outlives an identity change.
    statusLive: () =>
      pushStream<StatusView>((push, fail) =>
        throttled(STATUS_INTERVAL, (onChange) => context.status.onChange(onChange), () => {
          context.session().then(statusView).then(push, fail)
        }), 1),

    connect: guarded(async (address: unknown) => {
      const session = await context.session()
      const text = stringArg(address, 'address')
      try {
        await session.peer.connect(text)
      } catch (err) {
        throw new ApiError({ name: 'ConnectError', code: 'EAPI_CONNECT_FAILED', message: `could not connect to ${text.slice(0, 200)}: ${(err as Error).message}` })
      }
      // As `hearsay connect` does: a peer connected to by hand is known, and redialled after restarts.
      await session.peer.remember(text)
    }),
  }
}

function aboutContent(me: FeedId, edit: unknown): Record<string, unknown> & { type: string } {
  if (edit === null || typeof edit !== 'object' || Array.isArray(edit)) throw badArgument('a profile edit must be an object {name?, description?, image?}')
  const { name, description, image } = edit as ProfileEdit
  const about: Record<string, unknown> & { type: string } = { type: 'about', about: me }
  if (name !== undefined) {
    const trimmed = stringArg(name, 'name').trim()
    if (trimmed === '' || trimmed.length > 100) throw badArgument('a name is 1 to 100 characters')
    about.name = trimmed
  }
  if (description !== undefined) {
    const text = stringArg(description, 'description')
    if (text.length > 4000) throw badArgument('a description is at most 4000 characters')
    about.description = text
  }
  if (image !== undefined) {
    if (!isBlobId(image)) throw badArgument(`image must be a blob id (&….sha256), not ${preview(image)}`)
    about.image = image
  }
  if (Object.keys(about).length === 2) throw badArgument('a profile edit needs a name, description or image')
  return about
}

function blobUploadArg(upload: unknown): BlobUpload {
  if (upload === null || typeof upload !== 'object') throw badArgument('an upload must be an object {base64, mimeType}')
  const { base64, mimeType } = upload as Record<string, unknown>
  const text = stringArg(base64, 'base64')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw badArgument('base64 must be standard, padded base64')
  return { base64: text, mimeType: stringArg(mimeType, 'mimeType') }
}

/**
 * A declared media type, kept only when it is a plain `type/subtype` and not an image type: the
 * images we show are recognised by their bytes, so a claimed image that is not one is just bytes.
 */
function safeMimeType(declared: string): string {
  const plain = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i.test(declared)
  return plain && !/^image\//i.test(declared) ? declared.toLowerCase() : 'application/octet-stream'
}

/** A source whose real stream can only be made once the session is known. */
function deferredStream<T>(sessionReady: Promise<Session>, open: (session: Session) => StoppableStream<T>): StoppableStream<T> {
  let inner: StoppableStream<T> | null = null
  let stopped = false
  const ready = sessionReady.then((session) => {
    if (stopped) return null
    inner = open(session)
    return inner
  })
  ready.catch(() => undefined)
  const stream: StoppableStream<T> = {
    async next() {
      const it = await ready
      if (!it || stopped) return { done: true, value: undefined }
      return it.next() as Promise<IteratorResult<T, undefined>>
    },
    async return() {
      stopped = true
      await inner?.return()
      return { done: true, value: undefined }
    },
    [Symbol.asyncIterator]() {
      return stream
    },
  }
  return stream
}
