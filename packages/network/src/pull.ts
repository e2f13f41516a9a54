import type { End, Source, SourceCallback } from 'pull-stream'

// Small bridges between promises and pull-streams, the stream type muxrpc speaks.

/**
 * A source that asks `next` for items a batch at a time until it returns null. `cancel` runs
 * once when the reader aborts, so a `next` waiting for live data can give up (and return null).
 * Reads are answered from the current batch synchronously, batches asynchronously. `released`
 * is told of every item that leaves the source's hands: handed to the reader, or dropped
 * unread when the reader aborts.
 */
export function batchedSource<T>(next: () => Promise<readonly T[] | null>, cancel: () => void = () => {}, released: (count: number) => void = () => {}): Source<T> {
  let batch: readonly T[] = []
  let index = 0
  let ended: End = null
  let waiting: SourceCallback<T> | null = null

  function fetch(): void {
    next().then(
      (items) => {
        if (ended === null) {
          if (items === null) ended = true
          else {
            batch = items
            index = 0
          }
        } else if (items !== null) {
          released(items.length) // read for a reader that aborted meanwhile
        }
        answer()
      },
      (err: unknown) => {
        if (ended === null) ended = err instanceof Error ? err : new Error(String(err))
        answer()
      },
    )
  }

  function answer(): void {
    const cb = waiting
    if (cb === null) return
    if (index < batch.length) {
      waiting = null
      released(1)
      cb(null, batch[index++])
    } else if (ended !== null) {
      waiting = null
      cb(ended)
    } else {
      fetch() // an empty batch: ask again
    }
  }

  return function read(abort, cb) {
    if (abort) {
      if (ended === null) {
        ended = abort
        cancel()
      }
      released(batch.length - index)
      index = batch.length
      const pending = waiting
      waiting = null
      pending?.(ended)
      cb(abort)
      return
    }
    if (waiting !== null) {
      cb(new Error('pull-stream source read twice before answering'))
      return
    }
    if (index < batch.length) {
      released(1)
      cb(null, batch[index++])
      return
    }
    if (ended !== null) {
      cb(ended)
      return
    }
    waiting = cb
    fetch()
  }
}

export interface Pushable<T> {
  source: Source<T>
  push(item: T): void
  end(err?: Error): void
}

/** A source fed by `push`; `onClose` runs once when it ends or is aborted. */
export function pushable<T>(onClose?: (end: End) => void): Pushable<T> {
  const queue: T[] = []
  let ended: End = null
  let closed = false
  let waiting: SourceCallback<T> | null = null

  function close(end: End): void {
    if (closed) return
    closed = true
    onClose?.(end)
  }

  function drain(): void {
    if (waiting === null) return
    const cb = waiting
    if (queue.length > 0) {
      waiting = null
      cb(null, queue.shift())
    } else if (ended !== null) {
      waiting = null
      close(ended)
      cb(ended)
    }
  }

  return {
    source(abort, cb) {
      if (abort) {
        ended = abort
        queue.length = 0
        const pending = waiting
        waiting = null
        pending?.(abort)
        close(abort)
        cb(abort)
        return
      }
      waiting = cb
      drain()
    },
    push(item) {
      if (ended !== null) return
      queue.push(item)
      drain()
    },
    end(err) {
      if (ended !== null) return
      ended = err ?? true
      drain()
    },
  }
}

export interface Pump {
  /** Stops reading: aborts the source with `reason` and reports it as the end. */
  abort(reason?: Error): void
}

/**
 * Reads `source` into a bounded queue and hands it to `handle` in batches: whatever arrived
 * while the previous batch was being handled goes in the next (up to `maxBatch` items). Reading
 * continues during handling until `highWater` items wait. `handle` returning false, or
 * throwing, stops the pump. `done` is called once, with true for a normal end.
 */
export function pumpBatches<T>(
  source: Source<T>,
  handle: (batch: T[]) => Promise<boolean>,
  done: (end: End) => void,
  { maxBatch = 200, highWater = 400 } = {},
): Pump {
  const queue: T[] = []
  let reading = false
  let writing = false
  let end: End = null
  let stopped: End = null
  let finished = false

  function finish(result: End): void {
    if (finished) return
    finished = true
    done(result)
  }

  function stop(reason: End): void {
    if (stopped !== null) return
    stopped = reason
    queue.length = 0
    if (end === null) source(reason, () => {})
    finish(reason)
  }

  function read(): void {
    while (!reading && end === null && stopped === null && queue.length < highWater) {
      reading = true
      let returned = false
      let answeredSync = false
      source(null, (e, data) => {
        reading = false
        if (stopped !== null) return
        if (e) end = e
        else queue.push(data as T)
        if (returned) {
          void write()
          read()
        } else answeredSync = true
      })
      returned = true
      if (!answeredSync) return
    }
    if (queue.length > 0 || end !== null) void write()
  }

  async function write(): Promise<void> {
    if (writing) return
    writing = true
    try {
      while (queue.length > 0 && stopped === null) {
        const batch = queue.splice(0, maxBatch)
        read()
        if (!(await handle(batch))) {
          stop(true)
          break
        }
      }
    } catch (err) {
      stop(err instanceof Error ? err : new Error(String(err)))
    } finally {
      writing = false
    }
    if (stopped !== null) return
    if (queue.length > 0) void write()
    else if (end !== null) finish(end)
    else if (!reading) read()
  }

  read()
  return { abort: (reason) => stop(reason ?? true) }
}

/** Collects an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

/**
 * Joins the chunks a source has ready at once into one: whatever answers synchronously after a
 * read is appended before it is passed on. Before a socket this turns box-stream's header and
 * body (and frames produced together) into one write, so Nagle's algorithm never holds a
 * message's second half back waiting for the peer's delayed ACK (a 40 ms stall per message).
 */
export function coalesce(read: Source<Buffer>, maxChunk = 64 * 1024, { gather = false } = {}): Source<Buffer> {
  let buffered: Buffer[] = []
  let bytes = 0
  let end: End = null
  let outstanding = false
  let downstream: SourceCallback<Buffer> | null = null
  let flush: NodeJS.Immediate | null = null

  /** Reads ahead only for a waiting reader, and only what is ready (up to `maxChunk`). */
  function pump(): void {
    while (!outstanding && end === null && downstream !== null && bytes < maxChunk) {
      outstanding = true
      let sync = true
      read(null, (e, data) => {
        outstanding = false
        if (e) end = e
        else {
          buffered.push(data!)
          bytes += data!.length
        }
        if (!sync) {
          pump()
          if (gather && end === null && bytes < maxChunk) {
            flush ??= setImmediate(() => {
              flush = null
              deliver()
            })
          } else deliver()
        }
      })
      sync = false
    }
  }

  function deliver(): void {
    if (downstream === null) return
    const cb = downstream
    if (buffered.length > 0) {
      downstream = null
      const chunk = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered)
      buffered = []
      bytes = 0
      cb(null, chunk)
    } else if (end !== null) {
      downstream = null
      cb(end)
    }
  }

  return (abort, cb) => {
    if (abort) {
      end = abort
      buffered = []
      bytes = 0
      read(abort, cb)
      return
    }
    downstream = cb
    pump()
    deliver()
  }
}
