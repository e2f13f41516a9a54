import type { IndexReader, Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { prefixEnd, readUint48 } from '../indexes/codec.ts'

/** One page of a query, newest first unless the query says otherwise. */
export interface Page<T = IndexedMessage> {
  items: T[]
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string
}

export interface PageOptions {
  limit?: number
  /** From a previous page. */
  cursor?: string
}

export const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 500

export function pageSize(options: PageOptions): number {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`)
  return Math.min(limit, MAX_PAGE_SIZE)
}

/** Cursors are the last index key returned, opaque to callers. */
export function encodeCursor(lastKey: Uint8Array): string {
  return Buffer.from(lastKey).toString('base64url')
}

export function decodeCursor(cursor: string | undefined): Buffer | undefined {
  if (cursor === undefined) return undefined
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new RangeError('not a cursor from a previous page')
  return Buffer.from(cursor, 'base64url')
}

/**
 * Walks the keys under `prefix` whose last 6 bytes are a log offset, newest (highest key) first,
 * resuming after `cursor`, keeping those `accept` lets through until the page is full.
 */
export async function pageOfIndex(
  store: Store,
  reader: IndexReader,
  prefix: Uint8Array,
  options: PageOptions & { oldestFirst?: boolean; accept?: (message: IndexedMessage) => boolean },
): Promise<Page> {
  const limit = pageSize(options)
  const after = decodeCursor(options.cursor)
  const end = prefixEnd(prefix)
  const range = options.oldestFirst
    ? { gte: Buffer.from(prefix), lt: end, ...(after ? { gt: after } : {}) }
    : { gte: Buffer.from(prefix), lt: after ?? end, reverse: true }
  if (options.oldestFirst && after) delete (range as { gte?: Buffer }).gte
  const items: IndexedMessage[] = []
  let lastKey: Buffer | undefined
  let batch: Buffer[] = []
  const drain = async () => {
    const messages = await store.getByOffsets(batch.map((k) => readUint48(k, k.length - 6)), { decrypt: true })
    for (let i = 0; i < messages.length && items.length < limit; i++) {
      lastKey = batch[i]
      if (!options.accept || options.accept(messages[i]!)) items.push(messages[i]!)
    }
    batch = []
  }
  for await (const indexKey of reader.keys(range)) {
    batch.push(indexKey)
    if (batch.length >= limit - items.length) {
      await drain()
      if (items.length >= limit) break
    }
  }
  if (batch.length > 0 && items.length < limit) await drain()
  const exhausted = items.length < limit
  return exhausted || !lastKey ? { items } : { items, cursor: encodeCursor(lastKey) }
}
