// Bridges between async iterables (what this package speaks) and pull-streams (what muxrpc
// speaks). The pull-stream protocol is small enough to implement directly: a source is called
// as read(abort, cb) and answers cb(end, data); `end` is true for a normal end, an Error for a
// failure. These types match the `pull-stream` module's structurally.

export type PullEnd = boolean | Error | null | undefined
export type PullCallback<T> = (end: PullEnd, data?: T) => void
export type PullSource<T> = (abort: PullEnd, cb: PullCallback<T>) => void
export type PullSink<T> = (source: PullSource<T>) => void

type Input<T> = AsyncIterable<T> | Iterable<T>

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

export interface ToPullSourceOptions {
  /**
   * Runs when the reader aborts. An async generator cannot be stopped while it awaits, so a
   * live source uses this to end whatever it is waiting on.
   */
  onAbort?: () => void
}

/**
 * A pull source reading `input`, which may be a promise (e.g. `store.get(id)`): a rejection
 * becomes the stream's error. Aborting ends the iterator, so a file stream closes its
 * descriptor even if it was never read; a read still waiting is answered with the abort.
 */
export function toPullSource<T>(input: Input<T> | Promise<Input<T>>, options: ToPullSourceOptions = {}): PullSource<T> {
  let iterator: Promise<AsyncIterator<T> | Iterator<T>> | null = null
  let ended: PullEnd = null
  let pending: PullCallback<T> | null = null

  // A rejected input that is never read must not become an unhandled rejection.
  if (input instanceof Promise) input.catch(() => {})

  function start(): Promise<AsyncIterator<T> | Iterator<T>> {
    iterator ??= Promise.resolve(input).then((iterable) =>
      Symbol.asyncIterator in iterable ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator](),
    )
    return iterator
  }

  return function read(abort, cb) {
    if (abort) {
      if (ended !== null) {
        cb(abort)
        return
      }
      ended = abort
      const waiting = pending
      pending = null
      waiting?.(abort)
      options.onAbort?.()
      start()
        .then((it) => it.return?.())
        .then(
          () => cb(abort),
          () => cb(abort),
        )
      return
    }
    if (ended !== null) {
      cb(ended)
      return
    }
    if (pending !== null) {
      cb(new Error('pull source read again before it answered'))
      return
    }
    pending = cb
    start()
      .then((it) => it.next())
      .then(
        (result) => {
          if (pending !== cb) return // answered by an abort meanwhile
          pending = null
          if (result.done) cb((ended = true))
          else cb(null, result.value)
        },
        (err: unknown) => {
          if (pending !== cb) return
          pending = null
          ended = toError(err)
          cb(ended)
        },
      )
  }
}

/** An async iterable over a pull source; stopping early (break/throw) aborts the source. */
export async function* fromPullSource<T>(source: PullSource<T>): AsyncGenerator<T> {
  let finished = false
  try {
    for (;;) {
      const [end, data] = await new Promise<[PullEnd, T | undefined]>((resolve) => {
        source(null, (end, data) => resolve([end, data]))
      })
      if (end) {
        finished = true
        if (end === true) return
        throw toError(end)
      }
      yield data as T
    }
  } finally {
    if (!finished) await new Promise<void>((resolve) => source(true, () => resolve()))
  }
}

/**
 * A pull sink that hands its source, as an async iterable, to `consume`, and tells `done` how
 * that went. If `consume` fails before the source has ended (or never reads it), the source is
 * aborted with the error, so the far end hears about it instead of waiting.
 */
export function toPullSink<T, R = unknown>(
  consume: (items: AsyncIterable<T>) => Promise<R>,
  done?: (err: Error | null, result?: R) => void,
): PullSink<T> {
  return (source) => {
    let finished = false
    const watched: PullSource<T> = (abort, cb) => {
      source(abort, (end, data) => {
        if (end) finished = true
        cb(end, data)
      })
    }
    consume(fromPullSource(watched)).then(
      (result) => done?.(null, result),
      (err: unknown) => {
        const error = toError(err)
        if (!finished) {
          finished = true
          source(error, () => {})
        }
        done?.(error)
      },
    )
  }
}
