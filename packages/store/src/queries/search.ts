import type { IndexReader, Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { prefixEnd } from '../indexes/codec.ts'
import { POSTING_SUFFIX_BYTES, PRIVATE_POSTINGS, PUBLIC_POSTINGS, postingOffset, postText, tokenPrefix } from '../indexes/search.ts'
import { parseQuery, tokenize } from '../indexes/tokenize.ts'
import { decodeCursor, encodeCursor, pageSize, type Page, type PageOptions } from './page.ts'

export interface SearchOptions extends PageOptions {
  /**
   * Also return private posts that were addressed to this store's identity (flagged
   * `private: true`). Off by default: a plain search only ever shows public posts, so its
   * results are safe to show anywhere; ask for private ones only where the user reads them.
   */
  includePrivate?: boolean
  /** Let the last word match as the start of longer words while it is being typed (default true). */
  prefix?: boolean
}

/** A word being typed that starts more distinct words than this is checked against each result's text instead. */
const MAX_PREFIX_EXPANSIONS = 64
/** How far a posting walk steps forward before it re-opens its range at the target instead. */
const SEEK_STEPS = 16

/**
 * Posts containing every word of `query` (see `parseQuery`: accents and case fold away, stop
 * words and one-letter words are ignored, the last word also matches as a prefix while being
 * typed), newest first: by the day of their sortTime, then by arrival. A query without any
 * searchable word finds nothing. Public posts only, unless `includePrivate`.
 */
export async function search(store: Store, query: string, options: SearchOptions = {}): Promise<Page> {
  const limit = pageSize(options)
  const after = decodeCursor(options.cursor)
  if (after !== undefined && after.length !== POSTING_SUFFIX_BYTES) throw new RangeError('not a cursor from a previous page')
  const { words, prefix } = parseQuery(query, options.prefix === undefined ? {} : { prefix: options.prefix })
  if (words.length === 0 && prefix === undefined) return { items: [] }

  const reader = store.indexReader('search')
  const spaces = options.includePrivate ? [PUBLIC_POSTINGS, PRIVATE_POSTINGS] : [PUBLIC_POSTINGS]
  const postings = (space: number, token: string) => new Postings(reader, tokenPrefix(space, token), after)
  // The word being typed becomes a term of its own, one postings list per word it starts; but
  // when it starts very many and other words can narrow the results, it only filters them.
  let typed: Array<{ space: number; tokens: string[] }> = []
  let mustStartWith: string | undefined
  if (prefix !== undefined) {
    const cap = words.length > 0 ? MAX_PREFIX_EXPANSIONS + 1 : Infinity
    typed = await Promise.all(spaces.map(async (space) => ({ space, tokens: await expand(reader, space, prefix, cap) })))
    if (words.length > 0 && typed.some(({ tokens }) => tokens.length > MAX_PREFIX_EXPANSIONS)) {
      mustStartWith = prefix
      typed = []
    }
  }
  const terms = words.map((word) => new Term(spaces.map((space) => postings(space, word))))
  if (typed.length > 0) terms.push(new Term(typed.flatMap(({ space, tokens }) => tokens.map((token) => postings(space, token)))))

  const items: IndexedMessage[] = []
  let lastSuffix: Buffer | undefined
  let more = false
  const matches = intersect(terms)
  try {
    let exhausted = false
    while (!exhausted && items.length < limit) {
      const batch: Buffer[] = []
      while (batch.length < limit - items.length) {
        const next = await matches.next()
        if (next.done) {
          exhausted = true
          break
        }
        batch.push(next.value)
      }
      const messages = await store.getByOffsets(batch.map(postingOffset), { decrypt: true })
      let i = 0
      for (; i < messages.length && items.length < limit; i++) {
        lastSuffix = batch[i]
        if (mustStartWith === undefined || containsPrefix(messages[i]!, mustStartWith)) items.push(messages[i]!)
      }
      more = i < messages.length
    }
    if (items.length === limit && !more && !exhausted) more = !(await matches.next()).done
    return more && lastSuffix !== undefined ? { items, cursor: encodeCursor(lastSuffix) } : { items }
  } finally {
    await matches.return(undefined)
    await Promise.all(terms.map((term) => term.close()))
  }
}

function containsPrefix(message: IndexedMessage, prefix: string): boolean {
  const text = postText(message)
  return text !== null && tokenize(text).some((token) => token.startsWith(prefix))
}

/** The distinct indexed tokens of one space that start with `prefix`, at most `cap` of them. */
async function expand(reader: IndexReader, space: number, prefix: string, cap: number): Promise<string[]> {
  const start = tokenPrefix(space, prefix).subarray(0, -1)
  const end = prefixEnd(start)
  const tokens: string[] = []
  let from: Buffer = start
  while (tokens.length < cap) {
    let found: Buffer | undefined
    for await (const key of reader.keys({ gte: from, lt: end, limit: 1 })) found = key
    if (found === undefined) break
    const nul = found.indexOf(0, 1)
    tokens.push(found.toString('utf8', 1, nul))
    // Past every posting of this token: `token ‖ 0 ‖ …` < `token ‖ 1`.
    from = Buffer.concat([found.subarray(0, nul), Buffer.from([1])])
  }
  return tokens
}

/**
 * The postings of one token, newest first, as suffixes (`day ‖ offset`), each older than
 * `before` when given.
 */
class Postings {
  private iterator: AsyncIterator<Buffer> | null = null
  /** The current suffix; null once exhausted, undefined until read. */
  private current: Buffer | null | undefined = undefined

  constructor(
    private readonly reader: IndexReader,
    private readonly prefix: Buffer,
    before: Buffer | undefined,
  ) {
    this.open(before ? { lt: Buffer.concat([prefix, before]) } : { lt: prefixEnd(prefix) })
  }

  async head(): Promise<Buffer | null> {
    if (this.current === undefined) {
      const next = await this.iterator!.next()
      this.current = next.done ? null : next.value.subarray(this.prefix.length)
    }
    return this.current
  }

  advance(): void {
    if (this.current !== null) this.current = undefined
  }

  /** Moves to the newest posting no newer than `target`. */
  async seek(target: Buffer): Promise<void> {
    for (let steps = 0; ; steps++) {
      const head = await this.head()
      if (head === null || Buffer.compare(head, target) <= 0) return
      if (steps === SEEK_STEPS) {
        await this.close()
        this.open({ lte: Buffer.concat([this.prefix, target]) })
      }
      this.current = undefined
    }
  }

  async close(): Promise<void> {
    const iterator = this.iterator
    this.iterator = null
    await iterator?.return?.()
  }

  private open(bound: { lt: Buffer } | { lte: Buffer }): void {
    this.iterator = this.reader.keys({ gte: this.prefix, ...bound, reverse: true })[Symbol.asyncIterator]()
    this.current = undefined
  }
}

/** A query term: posts in any of its postings lists (a word's public and private lists, a prefix's words). */
class Term {
  constructor(private readonly postings: Postings[]) {}

  /** The newest suffix among the lists, or null when all are exhausted. */
  async head(): Promise<Buffer | null> {
    let newest: Buffer | null = null
    for (const list of this.postings) {
      const head = await list.head()
      if (head !== null && (newest === null || Buffer.compare(head, newest) > 0)) newest = head
    }
    return newest
  }

  /** Steps past `suffix` in every list that holds it. */
  async advancePast(suffix: Buffer): Promise<void> {
    for (const list of this.postings) {
      const head = await list.head()
      if (head !== null && head.equals(suffix)) list.advance()
    }
  }

  async seek(target: Buffer): Promise<void> {
    for (const list of this.postings) await list.seek(target)
  }

  async close(): Promise<void> {
    await Promise.all(this.postings.map((list) => list.close()))
  }
}

/**
 * Suffixes present in every term, newest first: a leapfrog join. The candidate is the newest
 * head; a term whose newest posting at or below it is older makes that the new candidate,
 * until all terms agree. Long runs are skipped by re-opening a range rather than stepping.
 */
async function* intersect(terms: Term[]): AsyncGenerator<Buffer, void, undefined> {
  if (terms.length === 0) return
  let candidate = await terms[0]!.head()
  while (candidate !== null) {
    let agreed = true
    for (const term of terms) {
      await term.seek(candidate)
      const head = await term.head()
      if (head === null) return
      if (!head.equals(candidate)) {
        candidate = head
        agreed = false
        break
      }
    }
    if (!agreed) continue
    yield candidate
    const matched = candidate
    for (const term of terms) await term.advancePast(matched)
    candidate = await terms[0]!.head()
  }
}
