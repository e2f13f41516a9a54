// Word tokens for full-text search. Indexing and querying both go through `normaliseText`, so
// whatever it folds together ("Café", "cafe", "CAFÉ", "ｃａｆｅ") matches.

/** Tokens shorter than this (in characters) are not indexed: too common to be worth a key. */
export const MIN_TOKEN_LENGTH = 2
/** Longer tokens are cut to this many characters, when indexed and when queried alike. */
export const MAX_TOKEN_LENGTH = 32
/** A message contributes at most this many distinct tokens (the first ones in its text). */
export const MAX_TOKENS_PER_MESSAGE = 256

/** Lucene's English stop words: present in most posts, so their keys would cost much and find little. */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of',
  'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
])

/** Anything beyond printable ASCII and line breaks may fold under NFKD; plain ASCII skips it. */
const NON_ASCII = /[^ -~\t\n\r]/
const COMBINING_MARKS = /\p{M}+/gu
/** Anything but a letter or a digit separates words ('#', '@', apostrophes and emoji included). */
const SEPARATORS = /[^\p{L}\p{N}]+/u
const ENDS_WITH_SEPARATOR = /[^\p{L}\p{N}]$/u

/**
 * Lowercase, compatibility-decomposed (NFKD) text with combining marks removed: accents and
 * width variants fold away. Scripts that write vowels as marks lose them too, which still
 * matches consistently because queries are folded the same way.
 */
export function normaliseText(text: string): string {
  const lower = text.toLowerCase()
  // Lowercased again: compatibility forms like 'ℌ' decompose to capitals.
  return NON_ASCII.test(lower) ? lower.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase() : lower
}

/** Cuts a normalised word to MAX_TOKEN_LENGTH characters; null if it is too short to index. */
function clip(word: string): string | null {
  if (word.length < MIN_TOKEN_LENGTH) return null
  if (word.length === 2 && isSurrogatePair(word, 0)) return null
  if (word.length <= MAX_TOKEN_LENGTH) return word
  const chars = Array.from(word)
  return chars.length <= MAX_TOKEN_LENGTH ? word : chars.slice(0, MAX_TOKEN_LENGTH).join('')
}

function isSurrogatePair(text: string, at: number): boolean {
  const high = text.charCodeAt(at)
  return high >= 0xd800 && high <= 0xdbff
}

/**
 * The distinct tokens of a text, in order of first appearance: words of letters and digits,
 * normalised, at least MIN_TOKEN_LENGTH long, cut to MAX_TOKEN_LENGTH, stop words left out,
 * at most `limit` of them.
 */
export function tokenize(text: string, limit = MAX_TOKENS_PER_MESSAGE): string[] {
  const seen = new Set<string>()
  const lower = text.toLowerCase()
  if (!tokenizeAscii(lower, seen, limit)) {
    for (const word of normaliseText(text).split(SEPARATORS)) {
      const token = clip(word)
      if (token === null || STOP_WORDS.has(token) || seen.has(token)) continue
      seen.add(token)
      if (seen.size >= limit) break
    }
  }
  return Array.from(seen)
}

/**
 * `tokenize` of lowercased text that is all ASCII (most posts), without regular expressions:
 * there NFKD changes nothing, letters and digits are [a-z0-9], and a character is a code
 * point. Adds the tokens to `seen` and returns true; returns false, having added nothing, at
 * the first character beyond ASCII.
 */
function tokenizeAscii(lower: string, seen: Set<string>, limit: number): boolean {
  const length = lower.length
  for (let i = 0; i < length; i++) if (lower.charCodeAt(i) > 0x7f) return false
  let start = -1
  for (let i = 0; i <= length; i++) {
    const c = i < length ? lower.charCodeAt(i) : 0x20
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
      if (start < 0) start = i
      continue
    }
    if (start < 0) continue
    const wordLength = i - start
    if (wordLength >= MIN_TOKEN_LENGTH) {
      const token = lower.slice(start, wordLength > MAX_TOKEN_LENGTH ? start + MAX_TOKEN_LENGTH : i)
      if (!STOP_WORDS.has(token) && !seen.has(token)) {
        seen.add(token)
        if (seen.size >= limit) return true
      }
    }
    start = -1
  }
  return true
}

export interface ParsedQuery {
  /** Tokens a match must contain exactly. */
  words: string[]
  /** A token a match must contain some word starting with (the word being typed), if any. */
  prefix?: string
}

/**
 * Reads a search box. Its words are tokenised as posts are; the last one also matches as a
 * prefix of longer words while it is being typed (the text does not end in a space or other
 * separator), unless `prefix` is false. A word being typed that is already a whole stop word,
 * or is a prefix of another word of the query, adds nothing and is left out.
 */
export function parseQuery(text: string, options: { prefix?: boolean } = {}): ParsedQuery {
  const normalised = normaliseText(text)
  const words = normalised.split(SEPARATORS).filter((word) => word !== '')
  const typing = options.prefix !== false && words.length > 0 && !ENDS_WITH_SEPARATOR.test(normalised)
  const last = typing ? clip(words.pop()!) : null
  const exact = tokenize(words.join(' '), Infinity)
  if (last === null || STOP_WORDS.has(last) || exact.some((word) => word.startsWith(last))) return { words: exact }
  return { words: exact, prefix: last }
}
