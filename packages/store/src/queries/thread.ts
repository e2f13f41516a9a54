import { messageHash, type MessageId } from '@hearsay/keys'
import type { Store } from '../types.ts'
import type { IndexedMessage } from '../indexes/definition.ts'
import { readUint48, sortTime } from '../indexes/codec.ts'
import { branchesOf, publicContent } from '../indexes/content.ts'
import { keysUnder } from './merge.ts'

export interface Thread {
  /** The root message, or null when we do not hold it (or it is not public). */
  root: IndexedMessage | null
  /** Every public message whose `root` is the thread's, in causal order (see `thread`). */
  replies: IndexedMessage[]
}

/**
 * A thread: its root and its public replies (of any type) in causal order — every reply comes
 * after each reply of the thread it branches from (`branch` may be one id or an array), and among
 * replies whose parents have all been placed, the earliest (sortTime, then receive order) goes
 * first. Branch links to messages outside the thread (or to the root) put no constraint. A missing
 * root still gives its replies. A private root is left out (null): the inbox shows those.
 */
export async function thread(store: Store, rootId: MessageId): Promise<Thread> {
  const reader = store.indexReader('threads')
  const keys = await keysUnder(reader, messageHash(rootId))
  const [replies, root] = await Promise.all([
    store.getByOffsets(keys.map((key) => readUint48(key, key.length - 6))),
    store.get(rootId),
  ])
  return { root: root && publicContent(root) ? root : null, replies: causalOrder(replies) }
}

/** Kahn's topological sort over in-thread branch links, earliest-first among the ready ones. */
export function causalOrder(messages: readonly IndexedMessage[]): IndexedMessage[] {
  const byKey = new Map<string, number>()
  messages.forEach((message, i) => byKey.set(message.key, i))
  const waiting = new Array<number>(messages.length).fill(0)
  const children: number[][] = messages.map(() => [])
  messages.forEach((message, i) => {
    const content = publicContent(message)
    if (!content) return
    const parents = new Set<number>()
    for (const branch of branchesOf(content)) {
      const parent = byKey.get(branch)
      if (parent !== undefined && parent !== i) parents.add(parent)
    }
    waiting[i] = parents.size
    for (const parent of parents) children[parent]!.push(i)
  })
  const earlier = (a: number, b: number) => {
    const x = messages[a]!
    const y = messages[b]!
    return sortTime(x) - sortTime(y) || x.offset - y.offset
  }
  const ready = new MinHeap<number>(earlier)
  waiting.forEach((count, i) => {
    if (count === 0) ready.push(i)
  })
  const ordered: IndexedMessage[] = []
  const placed = new Array<boolean>(messages.length).fill(false)
  while (ready.size > 0) {
    const next = ready.pop()!
    placed[next] = true
    ordered.push(messages[next]!)
    for (const child of children[next]!) if (--waiting[child]! === 0) ready.push(child)
  }
  // Hash links cannot form a cycle, but a corrupt or hostile index must not lose messages.
  if (ordered.length < messages.length) {
    const rest = messages.map((_, i) => i).filter((i) => !placed[i]).sort(earlier)
    for (const i of rest) ordered.push(messages[i]!)
  }
  return ordered
}

class MinHeap<T> {
  private readonly items: T[] = []
  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    let at = items.length - 1
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (this.compare(items[at]!, items[parent]!) >= 0) break
      ;[items[at], items[parent]] = [items[parent]!, items[at]!]
      at = parent
    }
  }

  pop(): T | undefined {
    const items = this.items
    if (items.length === 0) return undefined
    const top = items[0]!
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      let at = 0
      for (;;) {
        const left = 2 * at + 1
        const right = left + 1
        let min = at
        if (left < items.length && this.compare(items[left]!, items[min]!) < 0) min = left
        if (right < items.length && this.compare(items[right]!, items[min]!) < 0) min = right
        if (min === at) break
        ;[items[at], items[min]] = [items[min]!, items[at]!]
        at = min
      }
    }
    return top
  }
}
