export { openStore } from './store.ts'
export {
  StoreError,
  type Store, type StoredMessage, type OpenStoreOptions, type AppendResult, type FeedStatus,
  type ForkRecord, type ReadFeedOptions, type ReadLogOptions, type ReadOptions, type IndexReader, type IndexRange,
} from './types.ts'
export type { IndexDefinition, IndexedMessage, IndexWriter, IndexProgress } from './indexes/definition.ts'
export { defaultIndexes } from './indexes/all.ts'
export { messagesByType } from './queries/by-type.ts'
export type { Page, PageOptions } from './queries/page.ts'
