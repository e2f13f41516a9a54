export { openStore } from './store.ts'
export {
  StoreError,
  type Store, type StoredMessage, type OpenStoreOptions, type AppendResult, type FeedStatus,
  type ForkRecord, type ReadFeedOptions, type ReadLogOptions,
} from './types.ts'
