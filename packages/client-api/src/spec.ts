import { asyncMethod, sourceMethod } from './define.ts'
import type {
  AuthorView, BackupView, BlobAdded, BlobUpload, ContactsView, ConversationPage, FeedId, HashtagView, LikesView, LivePost, MessageId, NotificationPage,
  NotificationView, PageOptions, PostDraft, PostPage, PostView, ProfileEdit, ProfileView, RestoreView, SetupView, StatusView, ThreadView,
} from './views.ts'
import type { ConnectionsView, ReclaimView, SettingsChange, SettingsView, StorageView } from './views.ts'

/**
 * Everything the app's UI may ask of its peer. Written once: the renderer's client, the Electron
 * and web bridges, the peer's handlers and the muxrpc manifest (namespace `hearsay`) derive from it.
 */
export const clientApi = {
  // Identity and onboarding
  setup: asyncMethod<[], SetupView>(),
  /**
   * Restore an existing identity from its SSB secret file text or its 24-word phrase (only while
   * our own feed is empty). Publishing then waits for our feed from peers: see restoreStatus.
   */
  adoptSecret: asyncMethod<[backup: string], SetupView>(),
  /** Our identity's backup: the recovery phrase and the secret file text. */
  backup: asyncMethod<[], BackupView>(),
  restoreStatus: asyncMethod<[], RestoreView>(),
  /** The restore status now, then whenever it changes. */
  restoreStatusLive: sourceMethod<[], RestoreView>(),
  /** The person's word that our feed has no message on any peer: publishing may start at sequence 1. */
  confirmNoEarlierMessages: asyncMethod<[], RestoreView>(),

  // Reading
  homeFeed: asyncMethod<[options?: PageOptions], PostPage>(),
  /** Posts for the home feed as they arrive (replies included; the UI decides where they show). */
  homeFeedLive: sourceMethod<[], LivePost>(),
  profileFeed: asyncMethod<[feed: FeedId, options?: PageOptions], PostPage>(),
  hashtagFeed: asyncMethod<[tag: string, options?: PageOptions], PostPage>(),
  thread: asyncMethod<[root: MessageId], ThreadView>(),
  threadLive: sourceMethod<[root: MessageId], LivePost>(),
  profile: asyncMethod<[feed: FeedId], ProfileView>(),
  followers: asyncMethod<[feed: FeedId], ContactsView>(),
  following: asyncMethod<[feed: FeedId], ContactsView>(),
  likes: asyncMethod<[post: MessageId], LikesView>(),
  /** Feeds whose name starts with (or contains) `text`, best first: @-mention autocomplete, people search. */
  findPeople: asyncMethod<[text: string, options?: { limit?: number }], AuthorView[]>(),
  search: asyncMethod<[query: string, options?: PageOptions], PostPage>(),
  /** Hashtags in use that start with `prefix` (with or without '#'), alphabetically. */
  findHashtags: asyncMethod<[prefix: string, options?: { limit?: number }], HashtagView[]>(),
  notifications: asyncMethod<[options?: PageOptions], NotificationPage>(),
  notificationsLive: sourceMethod<[], { notification: NotificationView; authors: Record<FeedId, AuthorView> }>(),
  /** How many notifications arrived since markNotificationsSeen (at most 99 are counted). */
  unreadNotifications: asyncMethod<[], number>(),
  markNotificationsSeen: asyncMethod<[], void>(),
  inbox: asyncMethod<[options?: PageOptions], ConversationPage>(),
  /** A private conversation's posts that we can read, the first one first (`root` null when we lack it). */
  conversation: asyncMethod<[root: MessageId], ThreadView>(),
  /** Remembers the conversation as read up to its latest post (persisted; see ConversationView.unread). */
  markConversationRead: asyncMethod<[root: MessageId], void>(),
  /** Private posts addressed to us as they arrive (sent or received), for the inbox and open conversations. */
  privateMessagesLive: sourceMethod<[], LivePost>(),

  // Writing
  publishPost: asyncMethod<[draft: PostDraft], PostView>(),
  setLike: asyncMethod<[post: MessageId, liked: boolean], void>(),
  setFollow: asyncMethod<[feed: FeedId, following: boolean], void>(),
  setBlock: asyncMethod<[feed: FeedId, blocking: boolean], void>(),
  editProfile: asyncMethod<[edit: ProfileEdit], ProfileView>(),
  /** Stores bytes as a blob (JPEG/PNG metadata such as EXIF stripped first). */
  addBlob: asyncMethod<[upload: BlobUpload], BlobAdded>(),

  // The peer
  status: asyncMethod<[], StatusView>(),
  /** The status now, then again whenever it changes (at most a few times a second). */
  statusLive: sourceMethod<[], StatusView>(),
  connect: asyncMethod<[address: string], void>(),
  /**
   * Redeems a pub's invite code (`host:port:@key.ed25519~seed`): the pub follows us, we follow it
   * and stay connected to it. Errors: EINVITE_MALFORMED, EINVITE_USED_UP, EINVITE_UNREACHABLE, EINVITE_REFUSED.
   */
  useInvite: asyncMethod<[code: string], { pub: FeedId; address: string }>(),

  // Connections
  /** Connected and remembered peers, with their kind and what they sent. */
  connections: asyncMethod<[], ConnectionsView>(),
  /** Closes the connections to a peer (address or feed id); resolves with how many closed. */
  disconnect: asyncMethod<[target: string], number>(),
  /** Stops remembering a peer (address); resolves false if it was not remembered. */
  forgetPeer: asyncMethod<[address: string], boolean>(),

  // Settings
  settings: asyncMethod<[], SettingsView>(),
  /** Saves and applies at once: hops to replication, lan by starting or stopping discovery. */
  updateSettings: asyncMethod<[change: SettingsChange], SettingsView>(),
  /** Space used: messages, blobs and the largest feeds (at most `limit`, default 10). */
  storage: asyncMethod<[options?: { limit?: number }], StorageView>(),
  /**
   * Deletes the messages of every blocked feed (and keeps them from being fetched again while
   * blocked), then the blobs no stored message links to (uploads of the last hour excepted).
   */
  reclaimSpace: asyncMethod<[], ReclaimView>(),
} as const

export type ClientApiSpec = typeof clientApi
