// The bounded codec's reading of a peer that hangs up partway through a frame. Found by the
// fuzz suite (stress/fuzz/codec.ts): pull-reader reported some such hangups as a clean end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pull, { type End, type Source } from 'pull-stream'
import { boundedCodec } from './codec.ts'

/** The frames and the end the codec makes of `chunks`. */
function decode(chunks: Buffer[]): Promise<{ frames: unknown[]; end: End }> {
  return new Promise((resolve) => {
    const frames: unknown[] = []
    const inner = {
      source: pull.empty<unknown>(),
      sink: (read: Source<unknown>) => pull(read, pull.drain((frame: unknown) => void frames.push(frame), (end) => resolve({ frames, end: end ?? true }))),
    }
    boundedCodec()(inner).sink(pull.values(chunks))
  })
}

function header(length: number, type = 1): Buffer {
  const head = Buffer.alloc(9)
  head[0] = type
  head.writeUInt32BE(length, 1)
  head.writeInt32BE(1, 5)
  return head
}

test('a whole frame decodes', async () => {
  const { frames } = await decode([header(2), Buffer.from('hi')])
  assert.deepEqual(frames, [{ req: 1, stream: false, end: false, value: 'hi', length: 2, type: 1 }])
})

test('a hangup right after a frame header is an error, not a clean end', async () => {
  const { frames, end } = await decode([header(4)])
  assert.deepEqual(frames, [])
  assert.ok(end instanceof Error, `ended with ${String(end)}`)
  assert.match(end.message, /ended inside a muxrpc frame/)
})

test('a hangup partway through a header or a body is an error, however the bytes were chunked', async () => {
  const whole = Buffer.concat([header(3), Buffer.from('abc'), header(5)])
  for (const cut of [12 + 4, 12 + 9 + 0, 12 + 9 + 2]) {
    const bytes = Buffer.concat([whole, Buffer.from('defgh')]).subarray(0, cut)
    for (const chunks of [[bytes], [bytes.subarray(0, 12), bytes.subarray(12)], [...bytes].map((byte) => Buffer.from([byte]))]) {
      const { frames, end } = await decode(chunks)
      assert.equal(frames.length, 1, `cut at ${cut}`)
      assert.ok(end instanceof Error, `cut at ${cut} in ${chunks.length} chunks ended with ${String(end)}`)
    }
  }
})
