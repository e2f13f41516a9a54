import path from 'node:path'
import { createHash } from 'node:crypto'
import { blobHash, toBlobId, type BlobId } from '@hearsay/keys'

// The on-disk layout is multiblob's, as ssb-blobs configures it (ssb-blobs/create.js: alg
// 'sha256'), so an existing ~/.ssb/blobs folder can be opened in place and ssb-server can open
// ours. multiblob/index.js:31-36 (toPath):
//   path.join(dir, alg, hex.substring(0, 2), hex.substring(2))
// where hex is the 32-byte digest in lowercase hex. Temporary files live in `<dir>/tmp`
// (multiblob/index.js:64), one level deep, so neither multiblob's `*/*/*` glob nor our listing
// mistakes them for blobs.

/** The folder under the store directory that holds sha256 blobs. */
export const ALG_DIR = 'sha256'
/** Where in-progress writes live until they are verified and renamed into place. */
export const TMP_DIR = 'tmp'

/** `&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256`, the id of zero bytes. */
export const EMPTY_BLOB_ID: BlobId = toBlobId(createHash('sha256').digest())

const PREFIX = /^[0-9a-f]{2}$/
const REST = /^[0-9a-f]{62}$/

/** The file that holds blob `id` under `dir`; throws InvalidRefError for anything but a canonical blob id. */
export function blobPath(dir: string, id: BlobId | string): string {
  const hex = blobHash(id).toString('hex')
  return path.join(dir, ALG_DIR, hex.slice(0, 2), hex.slice(2))
}

/** The blob id a `<prefix>/<rest>` pair of file names stands for, or null for anything else. */
export function blobIdFromNames(prefix: string, rest: string): BlobId | null {
  if (!PREFIX.test(prefix) || !REST.test(rest)) return null
  return toBlobId(Buffer.from(prefix + rest, 'hex'))
}
