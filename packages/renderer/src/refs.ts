import { isFeedIdShape, isMessageIdShape, type BlobId } from '@hearsay/client-api'

// SSB's sigil references: a sigil, 32 bytes of base64, and the algorithm. Feed and message ids
// are checked by the client API's own helpers; blobs and refs inside running text only matter here.
const base64Key = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]='
const blobIdPattern = new RegExp(`^&${base64Key}\\.sha256$`)
/** Any sigil reference inside running text. */
export const sigilInText = new RegExp(`[@%&]${base64Key}\\.(?:ed25519|sha256)`, 'g')

export const isFeedId = isFeedIdShape
export const isMessageId = isMessageIdShape
export const isBlobId = (value: string): value is BlobId => blobIdPattern.test(value)

/** A short, stable label for a feed or message with no name: its first characters. */
export function shortId(id: string): string {
  return `${id.slice(0, 9)}…`
}
