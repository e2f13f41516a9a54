import type { BlobId, FeedId, MessageId } from './views.ts'

// SSB's sigil references, defined once for the API's own checks and the UI: a sigil, 32 bytes of
// base64 (the 43rd character carries only 2 bits, so only 16 letters may end it, then `=`), a dot
// and the algorithm. @hearsay/keys accepts the same shapes by decoding them, which needs Node.
const KEY = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]='
const FEED_ID = new RegExp(`^@${KEY}\\.ed25519$`)
const MESSAGE_ID = new RegExp(`^%${KEY}\\.sha256$`)
const BLOB_ID = new RegExp(`^&${KEY}\\.sha256$`)

/** Any reference inside running text. Global: use it with matchAll or as a `.source`, which leave it untouched. */
export const sigilInText = new RegExp(`[@%&]${KEY}\\.(?:ed25519|sha256)`, 'g')

export function isFeedIdShape(value: unknown): value is FeedId {
  return typeof value === 'string' && FEED_ID.test(value)
}

export function isMessageIdShape(value: unknown): value is MessageId {
  return typeof value === 'string' && MESSAGE_ID.test(value)
}

export function isBlobIdShape(value: unknown): value is BlobId {
  return typeof value === 'string' && BLOB_ID.test(value)
}

/** A short, stable label for a feed or message with no name: its sigil and first characters. */
export function shortId(id: string): string {
  return `${id.slice(0, 9)}…`
}
