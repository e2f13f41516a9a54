export { openStore } from './store.ts'
export type { LocalState } from './local-state.ts'
export {
  StoreError,
  type Store, type StoredMessage, type OpenStoreOptions, type AppendResult, type FeedStatus,
  type ForkRecord, type ReadFeedOptions, type ReadLogOptions, type ReadOptions, type IndexReader, type IndexRange,
} from './types.ts'
export type { IndexDefinition, IndexedMessage, IndexWriter, IndexProgress } from './indexes/definition.ts'
export { defaultIndexes } from './indexes/all.ts'
export { messagesByType } from './queries/by-type.ts'
export type { Page, PageOptions } from './queries/page.ts'
export { inbox, conversation, type Conversation } from './queries/inbox.ts'
export { search, type SearchOptions } from './queries/search.ts'
export { tokenize, parseQuery, normaliseText, type ParsedQuery } from './indexes/tokenize.ts'
export { homeFeed, profilePosts } from './queries/feeds.ts'
export { thread, type Thread } from './queries/thread.ts'
export { profile, type Profile } from './queries/profile.ts'
export {
  followers, following, blocked, blockers, contactsOf, isFollowing, isBlocking, hops, type Contacts,
} from './queries/contacts.ts'
export { notifications, type Notification, type NotificationKind } from './queries/notifications.ts'
export { hashtagFeed } from './queries/hashtags.ts'
export { votesFor, type Votes } from './queries/votes.ts'
export { backlinksOf } from './queries/backlinks.ts'
export {
  liveQuery, homeFeedLive, profilePostsLive, threadLive, hashtagFeedLive, backlinksOfLive, votesLive, profileLive,
  contactsLive, notificationsLive, mapLive, type LiveOptions, type LiveStream,
} from './queries/live.ts'
export { normalizeTag, publicContent, rootOf, branchesOf, hashtagsOf, mentionedFeeds, type PublicContent } from './indexes/content.ts'
export { recipients } from './queries/inbox.ts'
export { importMessages, type ImportOptions, type ImportProgress, type ImportResult, type ImportRejection, type ImportFormat, type BatchVerifier, type Verdict } from './import.ts'
export { reclaimFeeds, reclaimedFeeds, releaseReclaimedFeed, feedMessageCounts, type ReclaimResult } from './store.ts'
export { appendFeeds, storeHmacKey, type FeedBatch } from './store.ts'
