// pull-stream ships no typings; these cover only what Hearsay uses. A source is called with
// (abort, cb) and answers cb(end, data); a sink takes a source; a duplex is both halves.
declare module 'pull-stream' {
  /** `true` for a normal end, an Error for a failure, null/false while flowing. */
  export type End = boolean | Error | null
  export type SourceCallback<T> = (end: End, data?: T) => void
  export type Source<T> = (abort: End, cb: SourceCallback<T>) => void
  export type Sink<T> = (source: Source<T>) => void
  export type Through<In, Out> = (source: Source<In>) => Source<Out>
  export interface Duplex<In, Out> {
    source: Source<Out>
    sink: Sink<In>
  }

  /** Pipes a chain together: pull(source, ...throughs, sink), or duplex ⇄ duplex. */
  function pull(...streams: unknown[]): unknown

  namespace pull {
    function values<T>(items: readonly T[]): Source<T>
    function empty<T = never>(): Source<T>
    function error<T = never>(err: Error): Source<T>
    function drain<T>(op?: (data: T) => unknown, done?: (end: End) => void): Sink<T> & { abort(err?: End): void }
    function collect<T>(cb: (err: Error | null, items: T[]) => void): Sink<T>
  }
  export default pull
}

// stream-to-pull-stream ships no typings either; only its duplex is used.
declare module 'stream-to-pull-stream' {
  import type { Duplex } from 'pull-stream'
  export function duplex(stream: NodeJS.ReadWriteStream, cb?: (err: Error | null) => void): Duplex<Buffer, Buffer>
  const toPull: { duplex: typeof duplex }
  export default toPull
}
