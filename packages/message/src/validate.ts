import sodium from 'sodium-native'
import { decodeCanonicalBase64, decodeSignature, feedPublicKey, isFeedId, isMessageId, type FeedId, type MessageId } from '@hearsay/keys'
import { MessageError, type MessageErrorCode } from './errors.ts'
import { MAX_MESSAGE_LENGTH, SIGNATURE_LINE_END, SIGNATURE_LINE_START, encodeValue, messageIdOfEncoded, scratchUtf8 } from './encoding.ts'
import type { FeedState, HmacKey, MessageValue } from './types.ts'

export interface ValidMessage {
  key: MessageId
  value: MessageValue
}

const MIN_TYPE_LENGTH = 3
const MAX_TYPE_LENGTH = 52
// ssb-validate's test for box content: canonical base64, then ".box" and any suffix
// (so later box versions such as ".box2" pass too).
const BOXED_CONTENT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/](?:[AQgw]==|[A-Za-z0-9+/][AEIMQUYcgkosw048]=))?\.box.*$/

function fail(code: MessageErrorCode, message: string): never {
  throw new MessageError(code, message)
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

export function isBoxedContent(content: unknown): content is string {
  return typeof content === 'string' && content.length <= MAX_MESSAGE_LENGTH && BOXED_CONTENT.test(content)
}

/** Checks content as ssb-validate does: a boxed string, or an object whose type is 3–52 units. */
export function checkContent(content: unknown): void {
  if (content === null) fail('EMSG_CONTENT', 'content must not be null')
  if (typeof content === 'string') {
    // Bounds the regex below, which overflows the stack on strings of a few megabytes.
    if (content.length > MAX_MESSAGE_LENGTH) fail('EMSG_TOO_LARGE', `box content of ${content.length} units cannot fit in a message of at most ${MAX_MESSAGE_LENGTH}`)
    if (!content.includes('.box')) fail('EMSG_CONTENT', "string content must be box ciphertext ending in '.box'")
    if (!BOXED_CONTENT.test(content)) fail('EMSG_CONTENT', 'box ciphertext must be canonical base64')
    return
  }
  if (typeof content !== 'object') fail('EMSG_CONTENT', `content must be an object or a box string, not ${typeof content}`)
  if (Array.isArray(content)) fail('EMSG_CONTENT', 'content must not be an array')
  const type = (content as { type?: unknown }).type
  if (typeof type !== 'string') fail('EMSG_TYPE', `content type must be a string, not ${show(type)}`)
  if (type.length < MIN_TYPE_LENGTH || type.length > MAX_TYPE_LENGTH) {
    fail('EMSG_TYPE', `content type must be ${MIN_TYPE_LENGTH}–${MAX_TYPE_LENGTH} characters long, ${show(type)} is ${type.length}`)
  }
}

let lastHmacText: string | undefined
let lastHmacBytes: Buffer | null = null

/** The 32 HMAC key bytes (null for none); EMSG_HMAC_KEY when the key is malformed. */
export function hmacKeyBytes(key: HmacKey | unknown): Buffer | null {
  if (key === null || key === undefined) return null
  if (typeof key === 'string') {
    if (key === lastHmacText) return lastHmacBytes
    const bytes = decodeCanonicalBase64(key)
    if (!bytes) fail('EMSG_HMAC_KEY', 'HMAC key must be canonical base64')
    if (bytes.length !== 32) fail('EMSG_HMAC_KEY', `HMAC key must be 32 bytes, got ${bytes.length}`)
    lastHmacText = key
    lastHmacBytes = bytes
    return bytes
  }
  if (key instanceof Uint8Array) {
    if (key.length !== 32) fail('EMSG_HMAC_KEY', `HMAC key must be 32 bytes, got ${key.length}`)
    return Buffer.from(key.buffer, key.byteOffset, key.length)
  }
  return fail('EMSG_HMAC_KEY', `HMAC key must be a base64 string or bytes, not ${typeof key}`)
}

// Consecutive messages nearly always share an author, so its decoded key is worth keeping.
let lastAuthor: string | undefined
let lastAuthorKey: Buffer | undefined

function authorKey(author: FeedId): Buffer {
  if (author !== lastAuthor) {
    lastAuthorKey = feedPublicKey(author)
    lastAuthor = author
  }
  return lastAuthorKey as Buffer
}

const authOut = Buffer.allocUnsafe(32)

function checkKeyOrder(value: object): void {
  const keys = Object.keys(value)
  const ordered =
    keys.length === 7 &&
    keys[0] === 'previous' &&
    ((keys[1] === 'author' && keys[2] === 'sequence') || (keys[1] === 'sequence' && keys[2] === 'author')) &&
    keys[3] === 'timestamp' &&
    keys[4] === 'hash' &&
    keys[5] === 'content' &&
    keys[6] === 'signature'
  if (!ordered) {
    fail('EMSG_KEY_ORDER', `message keys must be previous, author, sequence (either order), timestamp, hash, content, signature; got ${keys.join(', ')}`)
  }
}

/**
 * Everything about a message that does not depend on its feed's history: shape, key order,
 * size, signature. Returns its id. Safe to run on any core, in any order.
 */
export function verifyMessage(value: unknown, hmacKey?: HmacKey): ValidMessage {
  const hmac = hmacKeyBytes(hmacKey)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('EMSG_NOT_OBJECT', `a message must be an object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`)
  checkKeyOrder(value)
  const msg = value as MessageValue
  if (!isFeedId(msg.author)) fail('EMSG_AUTHOR', `author must be a feed id @<base64 32 bytes>.ed25519, not ${show(msg.author)}`)
  if (!Number.isInteger(msg.sequence) || msg.sequence < 1) fail('EMSG_SEQUENCE', `sequence must be a positive integer, not ${show(msg.sequence)}`)
  if (msg.previous !== null && !isMessageId(msg.previous)) fail('EMSG_PREVIOUS', `previous must be null or a message id, not ${show(msg.previous)}`)
  if (typeof msg.timestamp !== 'number' || !Number.isFinite(msg.timestamp)) fail('EMSG_TIMESTAMP', `timestamp must be a number, not ${show(msg.timestamp)}`)
  if (msg.hash !== 'sha256') fail('EMSG_HASH', `hash must be 'sha256', not ${show(msg.hash)}`)
  checkContent(msg.content)
  const signature = decodeSignature(msg.signature)
  if (!signature) fail('EMSG_SIGNATURE_FORMAT', `signature must be canonical base64 of 64 bytes ending in '.sig.ed25519', not ${show(msg.signature)}`)

  const encoded = encodeValue(msg)
  if (encoded.length > MAX_MESSAGE_LENGTH) {
    fail('EMSG_TOO_LARGE', `the encoded message is ${encoded.length} UTF-16 units long; the limit is ${MAX_MESSAGE_LENGTH}`)
  }
  // The signed text is the encoding without its last line, `"signature": "…"`: since the
  // signature is last and needs no escaping, cutting it off saves a clone and a second stringify.
  const encodedBytes = scratchUtf8.write(encoded, 0, 'utf8')
  const signedEnd = encodedBytes - (SIGNATURE_LINE_START.length + msg.signature.length + SIGNATURE_LINE_END.length)
  scratchUtf8[signedEnd] = 0x0a // '\n'
  scratchUtf8[signedEnd + 1] = 0x7d // '}'
  let signed = scratchUtf8.subarray(0, signedEnd + 2)
  if (hmac) {
    sodium.crypto_auth(authOut, signed, hmac)
    signed = authOut
  }
  if (!sodium.crypto_sign_verify_detached(signature, signed, authorKey(msg.author))) {
    fail('EMSG_SIGNATURE', `the signature does not verify against ${msg.author} for this content`)
  }
  return { key: messageIdOfEncoded(encoded), value: msg }
}

/** Whether `value` may follow `state` (null: the feed is empty) in its feed. */
export function checkSuccessor(state: FeedState | null, value: MessageValue): void {
  if (state === null) {
    if (value.sequence !== 1) fail('EMSG_SEQUENCE', `the first message of a feed must have sequence 1, not ${value.sequence}`)
    if (value.previous !== null) fail('EMSG_PREVIOUS', 'the first message of a feed must have previous: null')
    return
  }
  if (value.sequence !== state.sequence + 1) {
    fail('EMSG_SEQUENCE', `expected sequence ${state.sequence + 1} of ${value.author}, got ${value.sequence}`)
  }
  if (value.previous !== state.id) {
    fail('EMSG_PREVIOUS', `previous must be ${state.id} (message ${state.sequence} of ${value.author}), not ${show(value.previous)}`)
  }
}

/** Validates `value` as the next message after `state`; returns it with its id, or throws MessageError. */
export function validateMessage(state: FeedState | null, value: unknown, hmacKey?: HmacKey): ValidMessage {
  const valid = verifyMessage(value, hmacKey)
  checkSuccessor(state, valid.value)
  return valid
}
