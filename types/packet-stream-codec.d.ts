// packet-stream-codec ships no typings; these cover the pieces Hearsay's bounded codec reuses.
declare module 'packet-stream-codec' {
  import type { Through } from 'pull-stream'

  export interface Frame {
    req: number
    stream: boolean
    end: boolean
    value: unknown
    length: number
    /** 0 buffer, 1 string, 2 JSON. */
    type: number
  }
  export function decodeHead(bytes: Buffer): Frame
  export function decodeBody(bytes: Buffer, frame: Frame): Frame
  export function encode(debug?: unknown): Through<unknown, Buffer>
  const codec: {
    decodeHead: typeof decodeHead
    decodeBody: typeof decodeBody
    encode: typeof encode
  }
  export default codec
}

declare module 'pull-reader' {
  import type { End, Source } from 'pull-stream'
  interface Reader {
    (source: Source<Buffer>): void
    read(length: number, cb: (err: End, data?: Buffer) => void): void
    abort(err: End, cb?: (err: End) => void): void
  }
  function createReader(timeout?: number): Reader
  export default createReader
}
