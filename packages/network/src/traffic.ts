import type { Duplex, Source } from 'pull-stream'

/** Bytes through one connection so far, each way. */
export interface Traffic {
  bytesIn: number
  bytesOut: number
}

export function newTraffic(): Traffic {
  return { bytesIn: 0, bytesOut: 0 }
}

/**
 * `stream` with every byte read from it added to `traffic.bytesIn` and every byte written to
 * it to `traffic.bytesOut`. On a raw socket stream these are the bytes on the wire: box-stream
 * ciphertext and headers, the handshake included.
 */
export function metered(stream: Duplex<Buffer, Buffer>, traffic: Traffic): Duplex<Buffer, Buffer> {
  return {
    source: (abort, cb) =>
      stream.source(abort, (end, data) => {
        if (!end && data) traffic.bytesIn += data.length
        cb(end, data)
      }),
    sink(read: Source<Buffer>) {
      stream.sink((abort, cb) =>
        read(abort, (end, data) => {
          if (!end && data) traffic.bytesOut += data.length
          cb(end, data)
        }),
      )
    },
  }
}
