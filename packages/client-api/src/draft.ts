import { ApiError } from './errors.ts'
import { isBlobIdShape, isFeedIdShape, isMessageIdShape, sigilInText } from './refs.ts'
import type { DraftSize, FeedId, MentionView, MessageId, PostDraft } from './views.ts'

// How a draft becomes `post` content, and how long that message will be once signed. Pure, so
// the composer's size meter runs in the renderer with no round trip, and `publishPost` builds
// and measures with exactly these rules.

/** The network's limit on a signed message, in UTF-16 code units of its JSON (ssb-validate's rule). */
export const MAX_MESSAGE_LENGTH = 8192
/** box1 addresses at most this many recipients. */
export const MAX_RECIPIENTS = 7
/** Longest content warning accepted; the UI shows it as one line. */
export const MAX_CONTENT_WARNING = 200

/** The `post` content a draft publishes as (before boxing), as Patchwork and Manyverse write it. */
export interface PostContent {
  type: 'post'
  text: string
  root?: MessageId
  branch?: MessageId | MessageId[]
  mentions: MentionView[]
  contentWarning?: string
  recps?: FeedId[]
}

function badDraft(message: string): ApiError {
  return new ApiError({ name: 'DraftError', code: 'EAPI_BAD_ARGUMENT', message })
}

/**
 * Checks a draft and builds its content: `mentions` from the markdown (`[name](@feed)`, bare
 * `@feed` ids, `![alt](&blob)` and `[text](%msg)` links, `#hashtags` as `{link: '#tag'}`, as
 * ssb-mentions finds them), `root`/`branch` for replies (branch defaults to the root), the
 * content warning, and `recps` with the author added when private. Throws an ApiError with code
 * EAPI_BAD_ARGUMENT for a malformed draft.
 */
export function postContent(draft: PostDraft, author: FeedId): PostContent {
  if (draft === null || typeof draft !== 'object' || Array.isArray(draft)) throw badDraft('a draft must be an object')
  const { text, root, branch, contentWarning, recps } = draft as unknown as Record<string, unknown>
  if (typeof text !== 'string' || text.trim() === '') throw badDraft('a post needs some text')
  const content: PostContent = { type: 'post', text, mentions: mentionsIn(text) }
  if (root !== undefined) {
    if (!isMessageIdShape(root)) throw badDraft(`root must be a message id (%….sha256), not ${preview(root)}`)
    const branches = branch === undefined ? [root] : branch
    if (!Array.isArray(branches) || branches.length === 0 || !branches.every(isMessageIdShape)) {
      throw badDraft('branch must be a non-empty array of message ids')
    }
    content.root = root
    const distinct = [...new Set(branches)]
    content.branch = distinct.length === 1 ? distinct[0]! : distinct
  } else if (branch !== undefined) {
    throw badDraft('branch needs a root')
  }
  if (contentWarning !== undefined) {
    if (typeof contentWarning !== 'string') throw badDraft('contentWarning must be text')
    const warning = contentWarning.trim()
    if (warning.length > MAX_CONTENT_WARNING) throw badDraft(`a content warning is at most ${MAX_CONTENT_WARNING} characters`)
    if (warning !== '') content.contentWarning = warning
  }
  if (recps !== undefined) {
    if (!Array.isArray(recps) || recps.length === 0 || !recps.every(isFeedIdShape)) {
      throw badDraft('recps must be a non-empty array of feed ids (@….ed25519)')
    }
    const all = [...new Set<FeedId>([author, ...recps])]
    if (all.length > MAX_RECIPIENTS) throw badDraft(`a private post reaches at most ${MAX_RECIPIENTS} feeds, you included; this one names ${all.length}`)
    content.recps = all
  }
  return content
}

// ssb-mentions' shapes: markdown links (images too) to refs, bare feed ids, hashtags.
const LINK = new RegExp(`(!?)\\[([^\\]]*)\\]\\(\\s*(${sigilInText.source})\\s*\\)`, 'g')
// Not inside a markdown link; of these bare refs only feeds are mentions.
const BARE_REF = new RegExp(`(?<![[(\\w])${sigilInText.source}`, 'g')
// A `#` that starts a word (not `&#38;`, not `page#anchor`), as the store's hashtag index reads it.
const HASHTAG = /(?:^|[^\p{L}\p{N}_&/#-])#([\p{L}\p{N}_-]+)/gu

/** The refs and hashtags a post's text links to, each once, in the order written. */
export function mentionsIn(text: string): MentionView[] {
  const mentions: MentionView[] = []
  const seen = new Set<string>()
  const add = (mention: MentionView) => {
    if (seen.has(mention.link)) return
    seen.add(mention.link)
    mentions.push(mention)
  }
  for (const match of text.matchAll(LINK)) {
    const [, , label, link] = match
    const ref = link!
    const name = label!.trim().replace(/^@/, '')
    // The pattern lets a sigil meet the other's algorithm (`@….sha256`); these three are the real shapes.
    if (!isFeedIdShape(ref) && !isMessageIdShape(ref) && !isBlobIdShape(ref)) continue
    add(name === '' ? { link: ref } : { link: ref, name })
  }
  for (const match of text.matchAll(BARE_REF)) if (isFeedIdShape(match[0])) add({ link: match[0] })
  for (const match of text.matchAll(HASHTAG)) {
    const tag = match[1]!.toLowerCase()
    if (tag.length <= 100) add({ link: `#${tag}` })
  }
  return mentions
}

// private-box's layout: nonce and one-time key, one key slot per recipient, then the body's MAC.
const BOX_HEADER_BYTES = 24 + 32
const BOX_SLOT_BYTES = 1 + 32 + 16
const BOX_MAC_BYTES = 16
// What signing adds to the unsigned encoding: `,\n  "signature": "<88 base64>.sig.ed25519"` before `\n}`.
const SIGNATURE_GROWTH = ',\n  "signature": "'.length + 88 + '.sig.ed25519"'.length
// A message id is as long as any other; only whether there is one matters to the length.
const SOME_MESSAGE_ID = `%${'A'.repeat(43)}=.sha256`
// Date.now() has 13 digits until the year 2286.
const SOME_TIMESTAMP = 1_700_000_000_000

/**
 * How long `content` will be as the next message of `author`'s feed once signed. With
 * `feedLength` (our feed's message count, from `setup`) the length is exact; without it, it
 * assumes a feed of up to 9,999,999 messages, never under-counting by more than a few units.
 */
export function signedSizeOf(content: PostContent, author: FeedId, feedLength?: number): DraftSize {
  const sequence = feedLength === undefined ? 9_999_999 : feedLength + 1
  const encodedContent = content.recps ? boxedLength(content) : content
  const unsigned = {
    previous: sequence === 1 ? null : SOME_MESSAGE_ID,
    sequence,
    author,
    timestamp: SOME_TIMESTAMP,
    hash: 'sha256',
    content: encodedContent,
  }
  return { length: JSON.stringify(unsigned, null, 2).length + SIGNATURE_GROWTH, limit: MAX_MESSAGE_LENGTH }
}

/** A stand-in string exactly as long as the box1 ciphertext of `content` (`<base64>.box`). */
function boxedLength(content: PostContent): string {
  const plaintext = new TextEncoder().encode(JSON.stringify(content)).length
  const bytes = BOX_HEADER_BYTES + content.recps!.length * BOX_SLOT_BYTES + plaintext + BOX_MAC_BYTES
  return 'A'.repeat(Math.ceil(bytes / 3) * 4) + '.box'
}

/** The composer's meter: the draft's signed length against the limit (throws for a malformed draft). */
export function draftSize(draft: PostDraft, author: FeedId, feedLength?: number): DraftSize {
  return signedSizeOf(postContent(draft, author), author, feedLength)
}

/** The error `publishPost` refuses an oversize draft with. */
export function draftTooLarge(size: DraftSize): ApiError {
  return new ApiError({
    name: 'DraftError',
    code: 'EMSG_TOO_LARGE',
    message: `this post would be ${size.length} characters once signed; the network's limit is ${size.limit} (${size.length - size.limit} over)`,
  })
}

function preview(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 80)
}
