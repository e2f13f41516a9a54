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
export function boundedCodec(maxFrame = DEFAULT_MAX_FRAME, onViolation: (reason: string) => void = () => {}, { redactErrors = false } = {}) {
  return function codec(stream: Duplex<unknown, unknown>): Duplex<Buffer, Buffer> {
    const outgoing = stream.source as Source<unknown>
    return {
      source: psc.encode()(redactErrors ? withoutStacks(outgoing) : outgoing),
      sink(read: Source<Buffer>) {
        stream.sink(decode(read, maxFrame, onViolation))
      },
    }
  }
}

/**
 * packet-stream sends an error as `{message, name, stack}` with our full stack (file paths,
 * versions): a remote peer gets `name: message` in its place, as ssb-server's own errors read.
 * Errors only travel in frames that end a request or stream, which is all this looks at.
 */
function withoutStacks(read: Source<unknown>): Source<unknown> {
  return (abort, cb) =>
    read(abort, (end, packet) => {
      if (end) return cb(end)
      const frame = packet as { end?: unknown; value?: unknown }
      const error = frame.end === true ? frame.value as { message?: unknown; name?: unknown; stack?: unknown } | null : null
      if (error !== null && typeof error === 'object' && typeof error.stack === 'string') {
        const name = typeof error.name === 'string' ? error.name : 'Error'
        const message = typeof error.message === 'string' ? error.message : ''
        return cb(null, { ...frame, value: { ...error, stack: `${name}: ${message}` } })
      }
      cb(null, packet)
    })
}

function decode(read: Source<Buffer>, maxFrame: number, onViolation: (reason: string) => void): Source<Frame | string> {
  const reader = createReader()
  // pull-reader 1.3.1 can answer a read with a clean end though the source ended partway
  // through it (its `state.length` goes stale once a read takes every buffered byte), so
  // whether a hangup fell inside a frame is counted here.
  let received = 0
  let consumed = 0
  reader((abort, cb) => read(abort, (end, data) => {
    if (!end && data) received += data.length
    cb(end, data)
  }))
  const cutShort = () => new Error(`the stream ended inside a muxrpc frame (${received - consumed} bytes of it arrived)`)
  let ended: End = null
  return function decodeFrame(abort, cb) {
    if (ended) return cb(ended)
    if (abort) return reader.abort(abort, cb)
    reader.read(9, (err, head) => {
      if (err) return cb(err === true && received > consumed ? cutShort() : err)
      consumed += 9
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
        if (err2) return cb(err2 === true ? cutShort() : err2)
        consumed += frame.length
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
