// Pagination over several index prefixes at once, newest first: a lazy k-way merge of per-prefix
// LevelDB iterators whose keys all end in sortTime ‖ offset (12 bytes). The cursor is that
// 12-byte order key of the last item returned, so every prefix can seek straight past it.
import type { IndexReader } from '../types.ts'
import { prefixEnd, readUint48 } from '../indexes/codec.ts'
import { ORDER_BYTES } from '../indexes/content.ts'
import { decodeCursor } from './page.ts'

/** The order key a cursor of a merged query carries; a RangeError for anything else. */
export function decodeOrderCursor(cursor: string | undefined): Buffer | undefined {
  const bytes = decodeCursor(cursor)
  if (bytes !== undefined && bytes.length !== ORDER_BYTES) throw new RangeError('not a cursor from a previous page')
  return bytes
}

/** The last 12 bytes of an index key: sortTime ‖ offset. */
export function orderOf(key: Uint8Array): Buffer {
  return Buffer.from(key.buffer, key.byteOffset + key.byteLength - ORDER_BYTES, ORDER_BYTES)
}

export function offsetOfOrder(order: Uint8Array): number {
  return readUint48(order, order.length - 6)
}

interface Head {
  key: Buffer
  iterator: AsyncIterator<Buffer>
}

/**
 * The newest `limit` entries across `prefixes` of one index, older than `before` when given,
 * as index keys newest first; `more` tells whether anything older is left.
 */
export async function newestAcross(
  reader: IndexReader,
  prefixes: readonly Uint8Array[],
  limit: number,
  before: Buffer | undefined,
): Promise<{ keys: Buffer[]; more: boolean }> {
  const iterators = prefixes.map((prefix) => {
    const lt = before ? Buffer.concat([prefix, before]) : prefixEnd(prefix)
    // No prefix can give more than a page (plus one, to know whether more is left).
    return reader.keys({ gte: prefix, lt, reverse: true, limit: limit + 1 })[Symbol.asyncIterator]()
  })
  const heap: Head[] = []
  try {
    const firsts = await Promise.all(iterators.map((iterator) => iterator.next()))
    firsts.forEach((first, i) => {
      if (!first.done) heap.push({ key: first.value, iterator: iterators[i]! })
    })
    heapify(heap)
    const keys: Buffer[] = []
    while (heap.length > 0 && keys.length < limit) {
      const head = heap[0]!
      keys.push(head.key)
      const next = await head.iterator.next()
      if (next.done) {
        const last = heap.pop()!
        if (heap.length > 0) {
          heap[0] = last
          siftDown(heap, 0)
        }
      } else {
        head.key = next.value
        siftDown(heap, 0)
      }
    }
    return { keys, more: heap.length > 0 }
  } finally {
    await Promise.all(iterators.map((iterator) => iterator.return?.()))
  }
}

/** Max-heap on the order key (newest on top). */
function newer(a: Head, b: Head): boolean {
  return Buffer.compare(orderOf(a.key), orderOf(b.key)) > 0
}

function heapify(heap: Head[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i)
}

function siftDown(heap: Head[], at: number): void {
  const length = heap.length
  for (;;) {
    const left = 2 * at + 1
    const right = left + 1
    let top = at
    if (left < length && newer(heap[left]!, heap[top]!)) top = left
    if (right < length && newer(heap[right]!, heap[top]!)) top = right
    if (top === at) return
    const swap = heap[at]!
    heap[at] = heap[top]!
    heap[top] = swap
    at = top
  }
}

/** Reads every key under `prefix` (a thread, a voter list, …), in key order. */
export async function keysUnder(reader: IndexReader, prefix: Uint8Array, options: { lt?: Uint8Array } = {}): Promise<Buffer[]> {
  const keys: Buffer[] = []
  for await (const key of reader.keys({ gte: prefix, lt: options.lt ?? prefixEnd(prefix) })) keys.push(key)
  return keys
}

export async function entriesUnder(reader: IndexReader, prefix: Uint8Array): Promise<Array<[Buffer, Buffer]>> {
  const entries: Array<[Buffer, Buffer]> = []
  for await (const entry of reader.entries({ gte: prefix, lt: prefixEnd(prefix) })) entries.push(entry)
  return entries
}

/** Runs `work` over `items` with at most `concurrency` in flight, results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const at = next++
      results[at] = await work(items[at]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}
