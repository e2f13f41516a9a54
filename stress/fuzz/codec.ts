// Target 3: muxrpc frame decoding, the network's bounded codec over packet-stream-codec. Bytes
// (real frames, damaged frames, noise) arrive in chunks split anywhere; what comes out is
// compared with a plain reading of the wire format, so a frame is decoded exactly when the
// format says so and a limit is enforced exactly when it is crossed.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import pull, { type End, type Source } from 'pull-stream'
import psc, { type Frame } from 'packet-stream-codec'
import { boundedCodec } from '@hearsay/network'
import { Tally, Violation, checkProperty, describeThrown, split, violation, type FuzzTarget } from './property.ts'

const HEADER_BYTES = 9

interface Decoded {
  frames: Array<Frame | string>
  end: End
  violations: string[]
  /** Bytes the decoder pulled from its source. */
  pulled: number
}

/** A source of `chunks`, counting what is read; `forever` repeats the last chunk without end. */
function chunkSource(chunks: readonly Buffer[], counter: { pulled: number }, forever = false): Source<Buffer> {
  let next = 0
  return (abort, cb) => {
    if (abort) return cb(abort)
    if (next >= chunks.length && !forever) return cb(true)
    const chunk = chunks[Math.min(next++, chunks.length - 1)]!
    counter.pulled += chunk.length
    // A decoder that buffers a claimed length would read on for ever; stop it well past any limit.
    if (counter.pulled > 64 * 1024 * 1024) return cb(true)
    cb(null, chunk)
  }
}

/** Everything the codec makes of `chunks`, driven to its end. */
async function decodeChunks(chunks: readonly Buffer[], maxFrame: number, forever = false): Promise<Decoded> {
  const counter = { pulled: 0 }
  const violations: string[] = []
  const frames: Array<Frame | string> = []
  const ended = new Promise<End>((resolve) => {
    const inner = {
      source: pull.empty<unknown>(),
      sink: (read: Source<unknown>) => pull(read, pull.drain((frame: Frame | string) => void frames.push(frame), (end) => resolve(end ?? true))),
    }
    boundedCodec(maxFrame, (reason) => violations.push(reason))(inner).sink(chunkSource(chunks, counter, forever))
  })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, 2_000, 'hung')))
  const end = await Promise.race([ended, timeout]).finally(() => clearTimeout(timer))
  if (end === 'hung') violation('the decoder neither ended nor asked for more input')
  return { frames, end, violations, pulled: counter.pulled }
}

/**
 * How the bytes end: after GOODBYE (`clean`), at a frame boundary without one (`hangup`: an
 * error or a plain end, either is honest), partway through a frame, or at a broken limit.
 */
type Expected = { frames: Array<Frame | string>; ending: 'clean' | 'hangup' | 'truncated' | 'violation' }

/** The wire format read plainly: 9-byte header (flags, length, request), then the body. */
function expectedFrames(bytes: Buffer, maxFrame: number): Expected {
  const frames: Array<Frame | string> = []
  let at = 0
  for (;;) {
    if (at === bytes.length) return { frames, ending: 'hangup' }
    if (bytes.length - at < HEADER_BYTES) return { frames, ending: 'truncated' }
    const flags = bytes[at]!
    const length = bytes.readUInt32BE(at + 1)
    const req = bytes.readInt32BE(at + 5)
    at += HEADER_BYTES
    if (length === 0) return { frames: [...frames, 'GOODBYE'], ending: 'clean' }
    const type = flags & 3
    if (length > maxFrame || type === 3) return { frames, ending: 'violation' }
    if (bytes.length - at < length) return { frames, ending: 'truncated' }
    const body = bytes.subarray(at, at + length)
    at += length
    let value: unknown
    if (type === 0) value = body
    else if (type === 1) value = body.toString()
    else {
      try {
        value = JSON.parse(body.toString())
      } catch {
        return { frames, ending: 'violation' }
      }
    }
    frames.push({ req, stream: (flags & 8) !== 0, end: (flags & 4) !== 0, value, length, type })
  }
}

interface OutgoingFrame {
  req: number
  stream: boolean
  end: boolean
  value: unknown
}

const outgoingFrame: fc.Arbitrary<OutgoingFrame> = fc.record({
  req: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  stream: fc.boolean(),
  end: fc.boolean(),
  value: fc.oneof(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), fc.string({ unit: 'binary', maxLength: 100 }), fc.jsonValue({ maxDepth: 3 })),
})

function bodyLength(value: unknown): number {
  return Buffer.isBuffer(value) ? value.length : typeof value === 'string' ? Buffer.byteLength(value) : Buffer.byteLength(JSON.stringify(value))
}

/** Frames as packet-stream-codec writes them (muxrpc's own encoder). */
function encodeFrames(frames: readonly (OutgoingFrame | 'GOODBYE')[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pull(pull.values([...frames]), psc.encode(), pull.collect<Buffer>((err, parts) => (err ? reject(err) : resolve(Buffer.concat(parts)))))
  })
}


type Damage = { kind: 'none' } | { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; keep: number } | { kind: 'insert'; at: number; bytes: Uint8Array }

function damaged(bytes: Buffer, change: Damage): Buffer {
  if (change.kind === 'none' || bytes.length === 0) return bytes
  if (change.kind === 'flip') {
    const copy = Buffer.from(bytes)
    copy[change.at % copy.length]! ^= 1 << change.bit
    return copy
  }
  if (change.kind === 'cut') return bytes.subarray(0, change.keep % bytes.length)
  const at = change.at % (bytes.length + 1)
  return Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)])
}

type Input =
  | { kind: 'frames'; frames: OutgoingFrame[]; goodbye: boolean; damage: Damage; cuts: number[]; maxFrame: number }
  | { kind: 'noise'; bytes: Uint8Array; cuts: number[]; maxFrame: number }
  | { kind: 'oversize'; claimed: number; maxFrame: number; chunk: number; type: number }

const maxFrame = fc.oneof(fc.constant(4 * 1024 * 1024), fc.integer({ min: 1, max: 512 }))
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 12 })
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }) },
)

function sameFrames(actual: ReadonlyArray<Frame | string>, expected: ReadonlyArray<Frame | string>): boolean {
  return actual.length === expected.length && actual.every((frame, i) => isDeepStrictEqual(frame, expected[i]))
}

export const muxrpcFrames: FuzzTarget = {
  name: 'fuzz: muxrpc frame decoding',
  quickRuns: 1_500,
  async run(runs, seed) {
    const tally = new Tally()
    const input: fc.Arbitrary<Input> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('frames' as const), frames: fc.array(outgoingFrame, { maxLength: 8 }), goodbye: fc.boolean(), damage, cuts, maxFrame }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ maxLength: 200 }), cuts, maxFrame }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('oversize' as const), claimed: fc.integer({ min: 4 * 1024 * 1024 + 1, max: 2 ** 32 - 1 }),
          maxFrame, chunk: fc.integer({ min: 1, max: 65_536 }), type: fc.nat(3),
        }),
      },
    )
    const property = fc.asyncProperty(input, async (item) => {
      tally.tried++
      if (item.kind === 'oversize') {
        const head = Buffer.alloc(HEADER_BYTES)
        head[0] = item.type
        head.writeUInt32BE(item.claimed, 1)
        head.writeInt32BE(1, 5)
        const decoded = await decodeSafely([head, Buffer.alloc(item.chunk, 0x61)], item.maxFrame, true)
        if (decoded.violations.length !== 1) violation(`a frame claiming ${item.claimed} bytes over a ${item.maxFrame}-byte limit gave ${decoded.violations.length} violations`)
        if (!(decoded.end instanceof Error)) violation('an oversize frame did not end the stream with an error')
        // Refused on its header: at most what was already in flight was read, never the claim.
        if (decoded.pulled > HEADER_BYTES + item.chunk) violation(`the decoder read ${decoded.pulled} bytes of a refused ${item.claimed}-byte frame`)
        tally.count('violation')
        return
      }
      const bytes = item.kind === 'frames'
        ? damaged(await encodeFrames([...item.frames, ...(item.goodbye ? ['GOODBYE' as const] : [])]), item.damage)
        : Buffer.from(item.bytes)
      const decoded = await decodeSafely(split(bytes, item.cuts), item.maxFrame)
      const expected = expectedFrames(bytes, item.maxFrame)
      if (!sameFrames(decoded.frames, expected.frames)) violation(`decoded ${decoded.frames.length} frames where the format gives ${expected.frames.length} (or they differ)`)
      // An empty body is a length-0 frame, which the format reads as GOODBYE: only frames with a
      // body can be expected to arrive as themselves.
      const allHaveBodies = item.kind === 'frames' && item.frames.every((frame) => bodyLength(frame.value) > 0)
      if (item.kind === 'frames' && allHaveBodies && item.damage.kind === 'none' && item.maxFrame >= 4 * 1024 * 1024 && expected.frames.length !== item.frames.length + (item.goodbye ? 1 : 0)) {
        violation('intact frames did not all decode')
      }
      if (expected.ending === 'violation') {
        if (decoded.violations.length !== 1 || !(decoded.end instanceof Error) || decoded.end.message !== decoded.violations[0]) {
          violation(`a limit was crossed but the decoder ended with ${String(decoded.end)} after ${decoded.violations.length} violation reports`)
        }
      } else {
        if (decoded.violations.length > 0) violation(`a violation was reported on a well-formed stream: ${decoded.violations[0]}`)
        if (expected.ending === 'clean' && decoded.end !== true) violation(`a complete stream ended with ${String(decoded.end)}`)
        if (expected.ending === 'truncated' && !(decoded.end instanceof Error)) violation('a stream cut mid-frame ended as if complete')
      }
      tally.count(expected.ending)
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: tally.percentages('violation', 'truncated') }
  },
}

/** decodeChunks, with anything thrown out of the codec turned into a violation of the property. */
async function decodeSafely(chunks: readonly Buffer[], limit: number, forever = false): Promise<Decoded> {
  try {
    return await decodeChunks(chunks, limit, forever)
  } catch (thrown) {
    if (thrown instanceof Violation) throw thrown
    return violation(`the codec threw ${describeThrown(thrown)}`)
  }
}
