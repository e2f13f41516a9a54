// Target 4: box-stream decoding, as the transport runs it (pull-box-stream, loaded from where
// secret-handshake loads it, under multiserver's shs). Real ciphertext of random plaintext,
// damaged and re-chunked, plus noise: the decoder may stop with an error, but everything it
// yields must be the start of the real plaintext, and a clean end means all of it.
import { createRequire } from 'node:module'
import fc from 'fast-check'
import pull, { type End, type Source, type Through } from 'pull-stream'
import { Tally, checkProperty, describeThrown, seededBytes, split, violation, type FuzzTarget } from './property.ts'

interface BoxStream {
  createBoxStream(key: Buffer, nonce: Buffer): Through<Buffer, Buffer>
  createUnboxStream(key: Buffer, nonce: Buffer): Through<Buffer, Buffer>
}
const fromSecretHandshake = createRequire(createRequire(import.meta.url).resolve('secret-handshake'))
const boxStream = fromSecretHandshake('pull-box-stream') as BoxStream

function collect(source: Source<Buffer>): Promise<{ chunks: Buffer[]; end: End }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    pull(source, pull.drain((chunk: Buffer) => void chunks.push(chunk), (end) => resolve({ chunks, end: end ?? true })))
  })
}

function encrypt(plaintext: readonly Buffer[], key: Buffer, nonce: Buffer): Promise<Buffer> {
  return collect(pull(pull.values([...plaintext]), boxStream.createBoxStream(key, nonce)) as Source<Buffer>).then(({ chunks }) => Buffer.concat(chunks))
}

/** What the decoder yields for `chunks`, with a guard against it never ending. */
async function decrypt(chunks: readonly Buffer[], key: Buffer, nonce: Buffer): Promise<{ plaintext: Buffer; end: End }> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, 2_000, 'hung')))
  let decoded
  try {
    decoded = await Promise.race([collect(pull(pull.values([...chunks]), boxStream.createUnboxStream(key, nonce)) as Source<Buffer>), hung])
  } catch (thrown) {
    violation(`the decoder threw ${describeThrown(thrown)}`)
  } finally {
    clearTimeout(timer)
  }
  if (decoded === 'hung') violation('the decoder neither ended nor asked for more input')
  return { plaintext: Buffer.concat(decoded.chunks), end: decoded.end }
}

type Damage =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; keep: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'drop'; at: number; count: number }
  | { kind: 'trailing'; bytes: Uint8Array }
  | { kind: 'wrong-nonce'; byte: number }

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trailing' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrong-nonce' as const), byte: fc.nat(23) }) },
)

function damaged(bytes: Buffer, change: Damage): Buffer {
  switch (change.kind) {
    case 'none':
    case 'wrong-nonce':
      return bytes
    case 'flip': {
      const copy = Buffer.from(bytes)
      copy[change.at % copy.length]! ^= 1 << change.bit
      return copy
    }
    case 'cut':
      return bytes.subarray(0, change.keep % bytes.length)
    case 'insert': {
      const at = change.at % (bytes.length + 1)
      return Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)])
    }
    case 'drop': {
      const at = change.at % bytes.length
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.count)])
    }
    case 'trailing':
      return Buffer.concat([bytes, change.bytes])
  }
}

type Input =
  | { kind: 'boxed'; plaintext: Uint8Array[]; damage: Damage; cuts: number[] }
  | { kind: 'noise'; bytes: Uint8Array; cuts: number[] }

export const boxStreamDecoding: FuzzTarget = {
  name: 'fuzz: box-stream decoding',
  quickRuns: 1_000,
  async run(runs, seed) {
    const key = seededBytes(seed, 32, 20)
    const nonce = seededBytes(seed, 24, 21)
    const tally = new Tally()
    const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 10 })
    const input: fc.Arbitrary<Input> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('boxed' as const),
          // Up to 3 packets' worth: box-stream splits writes over 4 KiB.
          plaintext: fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 4000, maxLength: 9000 })), { maxLength: 5 }),
          damage, cuts,
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ maxLength: 300 }), cuts }) },
    )
    const property = fc.asyncProperty(input, async (item) => {
      tally.tried++
      if (item.kind === 'noise') {
        const { plaintext, end } = await decrypt(nonEmpty(split(Buffer.from(item.bytes), item.cuts)), key, nonce)
        if (plaintext.length > 0) violation(`noise decrypted to ${plaintext.length} bytes`)
        if (!(end instanceof Error)) violation('noise ended the stream cleanly')
        tally.count('refused')
        return
      }
      const original = Buffer.concat(item.plaintext.map((bytes) => Buffer.from(bytes)))
      const ciphertext = await encrypt(item.plaintext.map((bytes) => Buffer.from(bytes)), key, nonce)
      const bytes = damaged(ciphertext, item.damage)
      const readNonce = Buffer.from(nonce)
      if (item.damage.kind === 'wrong-nonce') readNonce[item.damage.byte]! ^= 1
      const { plaintext, end } = await decrypt(nonEmpty(split(bytes, item.cuts)), key, readNonce)
      if (!original.subarray(0, plaintext.length).equals(plaintext)) violation(`the decoder yielded ${plaintext.length} bytes that are not the start of the plaintext`)
      const intact = item.damage.kind === 'none' || item.damage.kind === 'trailing'
      if (intact && end !== true) violation(`intact ciphertext ended with ${String(end)}`)
      // A clean end needs the authenticated end-of-stream header, so all of the ciphertext.
      const whole = item.damage.kind !== 'wrong-nonce' && bytes.subarray(0, ciphertext.length).equals(ciphertext)
      if (end === true && !whole) {
        // pull-box-stream reads through pull-reader 1.3.1, whose `state.length` goes stale once a
        // read takes every buffered byte: a hangup right there reads as a clean end. Upstream,
        // and harmless above it (what was yielded is authentic; the muxrpc codec calls a hangup
        // inside a frame an error), so it is counted, not failed — for a hangup only.
        const hangup = bytes.length < ciphertext.length && ciphertext.subarray(0, bytes.length).equals(bytes)
        if (!hangup) violation(`damaged ciphertext ended the stream cleanly after ${plaintext.length} of ${original.length} bytes`)
        tally.count('hangup read as a clean end')
      }
      if (end === true && whole && plaintext.length !== original.length) violation(`a clean end after ${plaintext.length} of ${original.length} bytes`)
      tally.count(end === true ? 'complete' : 'refused')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: [...tally.percentages('complete'), `${tally.get('hangup read as a clean end')} hangups read as a clean end (pull-reader 1.3.1)`] }
  },
}

// pull-box-stream's reader treats an empty chunk as data; keep the split honest but non-empty.
function nonEmpty(chunks: Buffer[]): Buffer[] {
  return chunks.filter((chunk) => chunk.length > 0)
}
