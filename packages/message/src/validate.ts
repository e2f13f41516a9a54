import sodium from 'sodium-native'
import { decodeCanonicalBase64, feedPublicKey, isFeedId, type MessageId } from '@hearsay/keys'
import { MessageError, type MessageErrorCode } from './errors.ts'
import { MAX_MESSAGE_LENGTH, SIGNATURE_LINE_END, SIGNATURE_LINE_START, encodeValue, messageIdOfEncoded, messageIdOfLatin1, scratchUtf8 } from './encoding.ts'
import type { FeedState, HmacKey, MessageValue } from './types.ts'

export interface ValidMessage {
  key: MessageId
  value: MessageValue
}

const MIN_TYPE_LENGTH = 3
const MAX_TYPE_LENGTH = 52
// What `.` does not match in a JavaScript regular expression (see isBoxedContent).
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/

function fail(code: MessageErrorCode, message: string): never {
  throw new MessageError(code, message)
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

// Canonical base64 checked and decoded in plain JavaScript. @hearsay/keys decodes with
// Buffer.from and re-encodes to prove a text canonical; that is clear, and cheap in a tight
// loop, but on the validation path (each call follows a 45 µs signature check that has pushed
// Node's base64 machinery out of the CPU caches) each such call cost ~3 µs, while this loop
// costs ~0.3 µs for a signature. The language accepted is the same; a test ("fast base64 and
// box checks agree…", in validation-pool.test.ts) compares them on random and mutated inputs.
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) BASE64_VALUE[BASE64_ALPHABET.charCodeAt(i)] = i
const EQUALS = 0x3d

/** The 6-bit value of the character at `i`, or -1 when it is not in the standard alphabet. */
function base64Value(text: string, i: number): number {
  const code = text.charCodeAt(i)
  return code < 128 ? BASE64_VALUE[code]! : -1
}

/**
 * Whether text[start, end) is canonical base64: standard alphabet, '=' padding to a multiple
 * of 4, and the bits the padding leaves over are zero (so the bytes have one spelling only).
 */
export function isCanonicalBase64Range(text: string, start: number, end: number): boolean {
  if ((end - start) % 4 !== 0) return false
  if (end === start) return true
  for (let i = start; i < end - 2; i++) if (base64Value(text, i) < 0) return false
  const third = text.charCodeAt(end - 2)
  const fourth = text.charCodeAt(end - 1)
  if (fourth !== EQUALS) return base64Value(text, end - 2) >= 0 && base64Value(text, end - 1) >= 0
  // "ab==" holds one byte: b's low 4 bits are left over. "abc=" holds two: c's low 2 bits are.
  if (third === EQUALS) return (base64Value(text, end - 3) & 15) === 0
  const value = base64Value(text, end - 2)
  return value >= 0 && (value & 3) === 0
}

/** Whether text[start, …) is canonical base64 of exactly `byteLength` bytes (its padding says how many). */
function isCanonicalBase64Of(text: string, start: number, byteLength: number): boolean {
  const end = start + Math.ceil(byteLength / 3) * 4
  const padding = (3 - (byteLength % 3)) % 3
  const padded = text.charCodeAt(end - 1) === EQUALS ? (text.charCodeAt(end - 2) === EQUALS ? 2 : 1) : 0
  return padded === padding && isCanonicalBase64Range(text, start, end)
}

/** Decodes text[start, end), already known to be canonical base64, into `out`; returns the byte count. */
function decodeBase64Into(text: string, start: number, end: number, out: Uint8Array): number {
  let o = 0
  for (let i = start; i < end; i += 4) {
    const a = base64Value(text, i)
    const b = base64Value(text, i + 1)
    const c = base64Value(text, i + 2) // -1 for '='
    const d = base64Value(text, i + 3)
    out[o++] = (a << 2) | (b >> 4)
    if (c >= 0) out[o++] = (b << 4) | (c >> 2)
    if (d >= 0) out[o++] = (c << 6) | d
  }
  return o
}

const MESSAGE_ID_LENGTH = 1 + 44 + '.sha256'.length
const SIGNATURE_B64_LENGTH = 88
const SIGNATURE_SUFFIX = '.sig.ed25519'

/** isMessageId of @hearsay/keys: `%` + canonical base64 of 32 bytes + `.sha256`. */
export function isMessageIdFast(text: unknown): boolean {
  return typeof text === 'string' && text.length === MESSAGE_ID_LENGTH && text.charCodeAt(0) === 0x25 /* % */ && text.endsWith('.sha256') && isCanonicalBase64Of(text, 1, 32)
}

/** What decodeSignature of @hearsay/keys accepts: canonical base64 of 64 bytes + `.sig.ed25519`. */
function isSignatureText(text: unknown): text is string {
  return typeof text === 'string' && text.length === SIGNATURE_B64_LENGTH + SIGNATURE_SUFFIX.length && text.endsWith(SIGNATURE_SUFFIX) && isCanonicalBase64Of(text, 0, 64)
}

/** decodeSignature of @hearsay/keys, into `out` (64 bytes) rather than a new Buffer; false when not canonical. */
export function decodeSignatureInto(text: unknown, out: Uint8Array): boolean {
  if (!isSignatureText(text)) return false
  decodeBase64Into(text, 0, SIGNATURE_B64_LENGTH, out)
  return true
}

/**
 * ssb-validate's test for box content: canonical base64, then ".box" and any suffix (so later
 * box versions such as ".box2" pass too). That is the regular expression
 *   /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/](?:[AQgw]==|[A-Za-z0-9+/][AEIMQUYcgkosw048]=))?\.box.*$/
 * which cost 14 µs on a typical 1.5 kB box (and overflows the stack on megabytes). The same
 * language, checked in pieces (2 µs): base64 has no '.', so the base64 part ends at the first
 * '.', which must start ".box"; that part must be canonical base64; and `.*$` means no line
 * terminator follows. Strings longer than a message can be are refused without looking.
 */
export function isBoxedContent(content: unknown): content is string {
  if (typeof content !== 'string' || content.length > MAX_MESSAGE_LENGTH) return false
  const dot = content.indexOf('.')
  if (dot === -1 || !content.startsWith('.box', dot)) return false
  if (LINE_TERMINATOR.test(content.slice(dot + 4))) return false
  return isCanonicalBase64Range(content, 0, dot)
}

/** Checks content as ssb-validate does: a boxed string, or an object whose type is 3–52 units. */
export function checkContent(content: unknown): void {
  if (content === null) fail('EMSG_CONTENT', 'content must not be null')
  if (typeof content === 'string') {
    // A box this long cannot fit in a message; say so before decoding megabytes of it.
    if (content.length > MAX_MESSAGE_LENGTH) fail('EMSG_TOO_LARGE', `box content of ${content.length} units cannot fit in a message of at most ${MAX_MESSAGE_LENGTH}`)
    if (!content.includes('.box')) fail('EMSG_CONTENT', "string content must be box ciphertext ending in '.box'")
    if (!isBoxedContent(content)) fail('EMSG_CONTENT', 'box ciphertext must be canonical base64')
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

// Public keys of recent authors, by feed id. Remembering only the last author is not enough:
// a database receives many feeds interleaved (in the 100k fixture the author changes on 99.7%
// of messages), and decoding a key (base64 in, and out again to prove it canonical) costs
// several Map lookups. Only canonical ids are stored, so a hit is also the validity check.
// Clearing when full keeps memory bounded; refilling costs one decode per author.
const authorKeys = new Map<string, Buffer>()
const MAX_CACHED_AUTHORS = 10_000

/** The author's public key; EMSG_AUTHOR unless it is a canonical feed id. */
function authorKey(author: unknown): Buffer {
  if (typeof author === 'string') {
    const cached = authorKeys.get(author)
    if (cached) return cached
  }
  if (!isFeedId(author)) fail('EMSG_AUTHOR', `author must be a feed id @<base64 32 bytes>.ed25519, not ${show(author)}`)
  const key = feedPublicKey(author)
  if (authorKeys.size >= MAX_CACHED_AUTHORS) authorKeys.clear()
  authorKeys.set(author, key)
  return key
}

// Each nesting level indents its lines two more spaces, so content nested this deep has over
// 2·(1 + 2 + … + 127) > 8192 units of indentation alone.
const MAX_NESTING = 128

/**
 * Whether `content` could encode within the limit, judged without encoding it: every value
 * takes at least one unit, and nesting deeper than MAX_NESTING cannot fit. JSON.parse reads
 * a peer's nesting of any depth, and pretty-printing costs the square of the depth (or
 * overflows the stack), so hostile content is measured this way before it is encoded.
 */
function fitsInMessage(content: object): boolean {
  valuesLeft = MAX_MESSAGE_LENGTH
  return fits(content, 0)
}

// fitsInMessage's budget, shared like the scratch buffers (every use is synchronous): a closure
// per message cost more than the walk itself (~0.15 µs on a typical post).
let valuesLeft = 0

function fits(value: unknown, depth: number): boolean {
  if (--valuesLeft < 0 || depth > MAX_NESTING) return false
  if (value === null || typeof value !== 'object') return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!fits(value[i], depth + 1)) return false
    return true
  }
  // for…in is own keys on parsed JSON; it is also far cheaper than Object.keys here.
  for (const key in value) if (!fits((value as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

const authOut = Buffer.allocUnsafe(32)
// The signature's bytes, decoded from its text. Like scratchUtf8, shared: every use is synchronous.
const signatureBytes = Buffer.alloc(64)

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
  const publicKey = authorKey(msg.author)
  if (!Number.isInteger(msg.sequence) || msg.sequence < 1) fail('EMSG_SEQUENCE', `sequence must be a positive integer, not ${show(msg.sequence)}`)
  if (msg.previous !== null && !isMessageIdFast(msg.previous)) fail('EMSG_PREVIOUS', `previous must be null or a message id, not ${show(msg.previous)}`)
  if (typeof msg.timestamp !== 'number' || !Number.isFinite(msg.timestamp)) fail('EMSG_TIMESTAMP', `timestamp must be a number, not ${show(msg.timestamp)}`)
  if (msg.hash !== 'sha256') fail('EMSG_HASH', `hash must be 'sha256', not ${show(msg.hash)}`)
  checkContent(msg.content)
  const signatureText = msg.signature
  if (!isSignatureText(signatureText)) fail('EMSG_SIGNATURE_FORMAT', `signature must be canonical base64 of 64 bytes ending in '.sig.ed25519', not ${show(signatureText)}`)

  if (typeof msg.content === 'object' && !fitsInMessage(msg.content)) {
    fail('EMSG_TOO_LARGE', `the content holds more values, or nests deeper, than a message of at most ${MAX_MESSAGE_LENGTH} units can`)
  }
  const encoded = encodeValue(msg)
  if (encoded.length > MAX_MESSAGE_LENGTH) {
    fail('EMSG_TOO_LARGE', `the encoded message is ${encoded.length} UTF-16 units long; the limit is ${MAX_MESSAGE_LENGTH}`)
  }
  // The signed text is the encoding without its last line, `"signature": "…"`: since the
  // signature is last and needs no escaping, cutting it off saves a clone and a second stringify.
  const encodedBytes = scratchUtf8.write(encoded, 0, 'utf8')
  // The id hashes the latin1 bytes; when every unit is ASCII (as many UTF-8 bytes as units)
  // those are the UTF-8 bytes already in scratch, so hash them now, before the splice below.
  const key = encodedBytes === encoded.length ? messageIdOfLatin1(scratchUtf8.subarray(0, encodedBytes)) : messageIdOfEncoded(encoded)
  const signedEnd = encodedBytes - (SIGNATURE_LINE_START.length + signatureText.length + SIGNATURE_LINE_END.length)
  scratchUtf8[signedEnd] = 0x0a // '\n'
  scratchUtf8[signedEnd + 1] = 0x7d // '}'
  let signed = scratchUtf8.subarray(0, signedEnd + 2)
  if (hmac) {
    sodium.crypto_auth(authOut, signed, hmac)
    signed = authOut
  }
  // Decoded into the shared buffer only now: encodeValue may run code (a toJSON) that
  // validates another message.
  decodeBase64Into(signatureText, 0, SIGNATURE_B64_LENGTH, signatureBytes)
  if (!sodium.crypto_sign_verify_detached(signatureBytes, signed, publicKey)) {
    fail('EMSG_SIGNATURE', `the signature does not verify against ${msg.author} for this content`)
  }
  return { key, value: msg }
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
