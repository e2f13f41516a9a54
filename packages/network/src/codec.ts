import type { Duplex, End, Source } from 'pull-stream'
import psc, { type Frame } from 'packet-stream-codec'
import createReader from 'pull-reader'

/** Largest muxrpc frame we accept; a peer announcing more is cut off before we buffer it. */
export const DEFAULT_MAX_FRAME = 4 * 1024 * 1024

const GOODBYE = 'GOODBYE'

/**
 * packet-stream-codec (muxrpc's wire format: 9-byte header, then a buffer, string or JSON body)
 * with limits: a frame longer than `maxFrame`, or of an unknown body type, ends the stream with
 * an error instead of being buffered or half-decoded; `onViolation` hears why. Encoding is
 * packet-stream-codec's own.
 */
export function boundedCodec(maxFrame = DEFAULT_MAX_FRAME, onViolation: (reason: string) => void = () => {}) {
  return function codec(stream: Duplex<unknown, unknown>): Duplex<Buffer, Buffer> {
    return {
      source: psc.encode()(stream.source as Source<unknown>),
      sink(read: Source<Buffer>) {
        stream.sink(decode(read, maxFrame, onViolation))
      },
    }
  }
}

function decode(read: Source<Buffer>, maxFrame: number, onViolation: (reason: string) => void): Source<Frame | string> {
  const reader = createReader()
  reader(read)
  let ended: End = null
  return function decodeFrame(abort, cb) {
    if (ended) return cb(ended)
    if (abort) return reader.abort(abort, cb)
    reader.read(9, (err, head) => {
      if (err) return cb(err)
      const frame = psc.decodeHead(head!)
      if (frame.length === 0) {
        ended = true
        return cb(null, GOODBYE)
      }
      const problem =
        frame.length > maxFrame ? `a muxrpc frame of ${frame.length} bytes is over the ${maxFrame}-byte limit`
        : frame.type > 2 ? `a muxrpc frame has unknown body type ${frame.type}`
        : null
      if (problem !== null) {
        ended = new Error(problem)
        onViolation(problem)
        reader.abort(ended, () => cb(ended))
        return
      }
      reader.read(frame.length, (err2, body) => {
        if (err2) return cb(err2)
        try {
          psc.decodeBody(body!, frame)
        } catch (e) {
          ended = new Error(`a muxrpc frame has an undecodable body: ${(e as Error).message}`)
          onViolation(ended.message)
          reader.abort(ended, () => cb(ended))
          return
        }
        cb(null, frame)
      })
    })
  }
}
