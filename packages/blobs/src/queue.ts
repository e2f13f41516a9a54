/**
 * An async iterable fed by push(), for one reader. Unbounded: it carries small messages whose
 * producers cannot wait. The reader stopping early (break, or `return()` from an adapter)
 * drops what is queued and calls `onReturn`.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private waiting: ((result: IteratorResult<T>) => void) | null = null
  private ended = false
  private taken = false

  constructor(private readonly onReturn: (queue: AsyncQueue<T>) => void = () => {}) {}

  /** Whether a reader has started iterating. */
  get isTaken(): boolean {
    return this.taken
  }

  push(item: T): void {
    if (this.ended) return
    const waiting = this.waiting
    if (waiting) {
      this.waiting = null
      waiting({ value: item, done: false })
    } else this.items.push(item)
  }

  /** No more items; those already queued are still delivered. */
  end(): void {
    this.ended = true
    const waiting = this.waiting
    this.waiting = null
    waiting?.({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    this.taken = true
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false })
        if (this.ended) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => {
          this.waiting = resolve
        })
      },
      return: () => {
        this.items.length = 0
        this.end()
        this.onReturn(this)
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }
}
