/**
 * What the UI is given: plain JSON, shaped for display, so the renderer never parses raw SSB
 * content itself (except a post's markdown text, which it renders safely).
 */

export type FeedId = `@${string}.ed25519`
export type MessageId = `%${string}.sha256`
export type BlobId = `&${string}.sha256`

/** One page of a query; pass `cursor` back for the next (absent on the last page). */
export interface Page<Item> {
  items: Item[]
  cursor?: string
}

export interface PageOptions {
  /** Default 50, at most 500. */
  limit?: number
  cursor?: string
}

/** How a feed is shown wherever it appears. */
export interface AuthorView {
  id: FeedId
  /** The name it gave itself, else one a feed we follow gave it, else null (show a short id). */
  name: string | null
  /** Avatar blob, or null. */
  image: BlobId | null
}

/** A link inside a post's `mentions`, as SSB clients write them. */
export interface MentionView {
  link: string
  name?: string
}

/** A post (`type: 'post'`), public or private, ready to render. */
export interface PostView {
  id: MessageId
  author: FeedId
  sequence: number
  /** The author's claimed time (ms); what the UI shows. */
  timestamp: number
  /** Markdown, as written (SSB-flavoured: @feed, %msg, &blob, #tag links). */
  text: string
  /** The thread it replies to (null for a thread's root). */
  root: MessageId | null
  /** What it branches from within the thread. */
  branch: MessageId[]
  mentions: MentionView[]
  /** Hashtags it carries (channel and #tags in the text), lower-cased, without '#'. */
  hashtags: string[]
  /** A content warning to show before the text, or null. */
  contentWarning: string | null
  /** Box1 recipients when private; null when public. */
  recps: FeedId[] | null
  likes: { count: number; byMe: boolean }
  /** How many replies its thread has (for roots); 0 for replies. */
  replyCount: number
}

/** Posts plus how to show every feed they name (authors and @mentions). */
export interface PostPage extends Page<PostView> {
  authors: Record<FeedId, AuthorView>
}

export interface ThreadView {
  /** Null when we do not hold the root (replies still show). */
  root: PostView | null
  /** In causal order. */
  replies: PostView[]
  authors: Record<FeedId, AuthorView>
}

/** A post arriving live, with how to show the feeds it names. */
export interface LivePost {
  post: PostView
  authors: Record<FeedId, AuthorView>
}

export interface ProfileView extends AuthorView {
  description: string | null
  /** Names other feeds gave it. */
  namesGivenByOthers: Array<{ name: string; by: FeedId }>
  followers: number
  following: number
  /** Our relationship to it (false for ourselves). */
  youFollow: boolean
  youBlock: boolean
  followsYou: boolean
  isMe: boolean
}

export interface ContactsView {
  items: AuthorView[]
}

export interface LikesView {
  count: number
  /** Most recent first. */
  voters: AuthorView[]
}

export type NotificationKind = 'mention' | 'reply' | 'like' | 'follow'

export interface NotificationView {
  kind: NotificationKind
  /** Who did it. */
  from: FeedId
  /** The mentioning post, the reply, the liked post, or null for a follow. */
  post: PostView | null
  /** The message that notifies (the post, the vote, the contact). */
  messageId: MessageId
  timestamp: number
}

export interface NotificationPage extends Page<NotificationView> {
  authors: Record<FeedId, AuthorView>
}

export interface ConversationView {
  root: MessageId
  recps: FeedId[]
  latest: PostView
  count: number
  /** Its latest post is from someone else and arrived after we last opened the conversation. */
  unread: boolean
}

export interface ConversationPage extends Page<ConversationView> {
  authors: Record<FeedId, AuthorView>
}

/** Where our identity stands, for onboarding. */
export interface SetupView {
  id: FeedId
  /** How many messages our own feed has. */
  feedLength: number
  /** Whether we have named ourselves (an `about` with a name). */
  named: boolean
  /** A restored identity that may not publish yet (see RestoreView). */
  restorePending: boolean
}

export type PeerKind = 'lan' | 'pub' | 'room' | 'manual' | 'inbound'

export interface ConnectedPeerView {
  id: FeedId
  name: string | null
  address: string
  kind: PeerKind
  inbound: boolean
  /** Messages received from it this connection, and bytes both ways. */
  messagesReceived: number
  bytesIn: number
  bytesOut: number
  connectedAt: number
}

export interface StatusView {
  peers: ConnectedPeerView[]
  replication: {
    /** Feeds we replicate (us, follows within the configured hops, minus blocks). */
    wantedFeeds: number
    /** Messages received per second over the last few seconds. */
    messagesPerSecond: number
  }
  indexing: {
    /** True while any index is being (re)built; `progress` is 0–1. */
    active: boolean
    progress: number
  }
}

/** What `publishPost` takes; the peer builds the `post` content (and boxes it when `recps`). */
export interface PostDraft {
  text: string
  /** Reply: the thread's root, and what this branches from (default: the root). */
  root?: MessageId
  branch?: MessageId[]
  contentWarning?: string
  /** Private to these feeds (1–7, the author added if missing). */
  recps?: FeedId[]
}

export interface ProfileEdit {
  name?: string
  description?: string
  image?: BlobId
}

/** A blob the UI uploads (e.g. an attachment): base64 bytes and the declared media type. */
export interface BlobUpload {
  base64: string
  mimeType: string
}

export interface BlobAdded {
  id: BlobId
  size: number
  mimeType: string
}

/** A draft's encoded size against the network's 8192 limit, for the composer's meter. */
export interface DraftSize {
  /** The signed message's length in the units the limit counts (UTF-16 code units of the JSON). */
  length: number
  limit: number
}

/** An identity's backup: keep either; each restores the identity on its own. */
export interface BackupView {
  id: FeedId
  /** 24 words (BIP39, as Manyverse and ssb-keys-mnemonic write them). */
  phrase: string
  /** The SSB secret file's text, as ssb-keys writes ~/.ssb/secret. */
  secretFile: string
}

/**
 * Fork protection after a restore: while `pending`, publishing fails with EAPI_RESTORE_PENDING,
 * until a connected peer has given us our own feed up to the latest message it holds, or the
 * person confirms there is no earlier message (confirmNoEarlierMessages).
 */
export interface RestoreView {
  pending: boolean
  /** Our own feed's length in our store now. */
  sequence: number
  /** Peers that answered for our feed since the restore. */
  peersAsked: number
  /** The highest sequence of our feed any of them holds (null: none holds any). */
  latestOnPeers: number | null
}

export interface HashtagView {
  /** Lower-cased, without '#'. */
  tag: string
}

/** A peer we redial whenever we are not connected to it. */
export interface KnownPeerView {
  id: FeedId
  name: string | null
  /** Its `net:HOST:PORT~shs:KEY` address: what `forgetPeer` takes. */
  address: string
  kind: Exclude<PeerKind, 'inbound'>
  connected: boolean
  /** The last time a dial to it succeeded, null if none has. */
  lastSuccess: number | null
  /** Failed dials since then. */
  failures: number
}

export interface ConnectionsView {
  /** Our own address, for others to connect to (null when not listening). */
  address: string | null
  connected: ConnectedPeerView[]
  known: KnownPeerView[]
  replication: {
    wantedFeeds: number
    /** Wanted feeds a connected peer holds further than we do. */
    feedsBehind: number
    messagesPerSecond: number
  }
}

export interface SettingsView {
  /** Follow-graph distance replicated: 0 only us, 1 whom we follow, 2 their follows too, … */
  hops: number
  maxHops: number
  /** LAN discovery switched on, and whether it runs (it cannot where we listen on loopback only). */
  lan: boolean
  lanActive: boolean
  /** Where the identity, messages and blobs are kept. */
  dataDir: string
}

export interface SettingsChange {
  hops?: number
  lan?: boolean
}

export interface StorageView {
  /** The message database on disk (log and indexes). */
  messages: { count: number; bytes: number }
  blobs: { count: number; bytes: number }
  /** The feeds holding the most messages, most first. */
  feeds: Array<{ author: AuthorView; messages: number; blocked: boolean }>
  /** Blocked feeds whose messages are still stored: what reclaimSpace removes. */
  reclaimableFeeds: number
}

export interface ReclaimView {
  /** Blocked feeds whose messages were removed, and how many messages. */
  feeds: number
  messages: number
  /** Blobs no stored message links to any more, removed, and their bytes. */
  blobs: number
  blobBytes: number
}
