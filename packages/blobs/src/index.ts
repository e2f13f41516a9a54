export { BlobError, type BlobErrorCode } from './errors.ts'
export { ALG_DIR, TMP_DIR, EMPTY_BLOB_ID, blobPath, blobIdFromNames } from './layout.ts'
export type { BlobInput, BlobMeta, AddOptions, ReadOptions } from './files.ts'
export {
  openBlobStore,
  BlobStore,
  DEFAULT_MAX_SIZE,
  DEFAULT_SYMPATHY,
  DEFAULT_PUSHY,
  DEFAULT_KEEP_NEWER_THAN,
  type BlobStoreOptions,
  type BlobUsage,
  type RemoveUnreferencedOptions,
  type RemovedBlobs,
} from './store.ts'
export { type WantsSession, type WantsMessage, type FetchBlob, type WantOptions, type SessionOptions } from './wants.ts'
export {
  createBlobsRpc,
  blobsManifest,
  blobsPermissions,
  type BlobsRpc,
  type RemoteBlobs,
  type LsOptions,
} from './rpc.ts'
export {
  toPullSource,
  fromPullSource,
  toPullSink,
  type PullSource,
  type PullSink,
  type PullEnd,
  type PullCallback,
  type ToPullSourceOptions,
} from './pull.ts'
export { blobResponseHeaders, BLOB_SNIFF_BYTES } from './serving.ts'
