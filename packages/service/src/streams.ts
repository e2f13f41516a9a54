import type { LiveStream } from '@hearsay/store'

/** An async iterator a bridge can stop at once: `return()` ends it even while a `next()` waits. */
export type StoppableStream<T> = LiveStream<T>

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined }

/**
 * A stream fed by callbacks: `start` is given `push` and `fail`, and returns what stops the
 * feeding. Values wait in a queue until read; when the reader falls more than `highWater` behind,
 * only the newest value is kept (fine for snapshots such as status, which replace each other).
 */
export function pushStream<T>(start: (push: (value: T) => void, fail: (err: unknown) => void) => () => void, highWater = Infinity): StoppableStream<T> {
  let queue: T[] = []
  let waiting: { resolve: (result: IteratorResult<T, undefined>) => void; reject: (err: unknown) => void } | null = null
  let ended = false
  let failure: unknown = undefined
  let stop: (() => void) | null = null

  const finish = () => {
    if (ended) return
    ended = true
    stop?.()
    stop = null
  }
  const push = (value: T) => {
    if (ended) return
    if (waiting) {
      const reader = waiting
      waiting = null
      reader.resolve({ done: false, value })
    } else {
      queue.push(value)
      if (queue.length > highWater) queue = queue.slice(-1)
    }
  }
  const fail = (err: unknown) => {
    if (ended) return
    finish()
    if (waiting) {
      const reader = waiting
      waiting = null
      reader.reject(err)
    } else failure = err
  }
  const stream: StoppableStream<T> = {
    next() {
      if (queue.length > 0) return Promise.resolve({ done: false, value: queue.shift()! })
      if (failure !== undefined) {
        const err = failure
        failure = undefined
        return Promise.reject(err)
      }
      if (ended) return Promise.resolve(DONE)
      return new Promise((resolve, reject) => (waiting = { resolve, reject }))
    },
    return() {
      finish()
      queue = []
      const reader = waiting
      waiting = null
      reader?.resolve(DONE)
      return Promise.resolve(DONE)
    },
    [Symbol.asyncIterator]() {
      return stream
    },
  }
  stop = start(push, fail)
  if (ended) stop()
  return stream
}
