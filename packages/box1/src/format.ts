// The private-box@0.3 wire layout. These are fixed by the format, not by libsodium's
// constants, so they are spelled out: changing any of them would break every old message.
export const NONCE_BYTES = 24
export const HEADER_BYTES = NONCE_BYTES + 32 // nonce ‖ one-time curve25519 public key
export const BODY_KEY_BYTES = 32
export const UNBOX_KEY_BYTES = 1 + BODY_KEY_BYTES // recipient count ‖ body key
export const MAC_BYTES = 16
export const SLOT_BYTES = UNBOX_KEY_BYTES + MAC_BYTES
export const MAX_RECIPIENTS = 7
// One slot and a body that is nothing but its MAC: anything shorter cannot open, so it is
// refused before paying for the scalar multiplication.
export const MIN_BOX_BYTES = HEADER_BYTES + SLOT_BYTES + MAC_BYTES
export const BOX_SUFFIX = '.box'
// The base64 length of the shortest box; every canonical spelling this long decodes to at least MIN_BOX_BYTES.
const MIN_BOX_CHARS = Math.ceil(MIN_BOX_BYTES / 3) * 4

// Base64 values by char code, -1 for anything outside the standard alphabet.
const BASE64_VALUES = new Int8Array(128).fill(-1)
for (const [value, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  BASE64_VALUES[char.charCodeAt(0)] = value
}
const EQUALS = 0x3d

function base64Value(text: string, index: number): number {
  const code = text.charCodeAt(index)
  return code < 128 ? BASE64_VALUES[code]! : -1
}

/**
 * Whether text[0, end) is canonical base64: what is-canonical-base64's expression (used by
 * ssb-validate) accepts, with the unused trailing bits zero so one byte string has one
 * spelling. Scanned by hand because that expression backtracks through the whole string
 * and overflows the stack on inputs of a few megabytes, and these checks must never throw.
 */
function isCanonicalBase64Prefix(text: string, end: number): boolean {
  if (end % 4 !== 0) return false
  let padding = 0
  if (end > 0 && text.charCodeAt(end - 1) === EQUALS) padding = text.charCodeAt(end - 2) === EQUALS ? 2 : 1
  for (let i = 0; i < end - padding; i++) if (base64Value(text, i) < 0) return false
  if (padding === 1) return (base64Value(text, end - 2) & 0b11) === 0
  if (padding === 2) return (base64Value(text, end - 3) & 0b1111) === 0
  return true
}

// What `.` in ssb-validate's `\.box.*$` cannot match.
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/

/**
 * Whether `value` is encrypted message content by ssb-validate's rule, the expression
 * `^<canonical base64>\.box.*$`. Anything may follow ".box" (so later formats such as
 * "….box2" count) except a line terminator, and a bare ".box" counts too, since empty base64
 * is canonical. So this says "this content is not plain JSON", not "box1 can open this".
 */
export function isBoxedString(value: unknown): value is string {
  if (typeof value !== 'string') return false
  // The alphabet has no '.', so the base64 can only end at the first one.
  const dot = value.indexOf('.')
  return (
    dot >= 0 &&
    value.startsWith(BOX_SUFFIX, dot) &&
    isCanonicalBase64Prefix(value, dot) &&
    !LINE_TERMINATOR.test(value.slice(dot + BOX_SUFFIX.length))
  )
}

/**
 * The ciphertext bytes of a box1 string, or undefined for anything that cannot be one.
 * Stricter than ssb-keys, which would also try "….box2" or non-canonical base64: exactly
 * `<canonical base64>.box` is box1, and only that can appear in a valid feed as box1.
 */
export function decodeBox1(boxed: unknown): Buffer | undefined {
  if (typeof boxed !== 'string' || !boxed.endsWith(BOX_SUFFIX)) return undefined
  const end = boxed.length - BOX_SUFFIX.length
  if (end < MIN_BOX_CHARS || !isCanonicalBase64Prefix(boxed, end)) return undefined
  return Buffer.from(boxed.slice(0, end), 'base64')
}
