// The client and the dispatcher talking in-process, through a transport that JSON-encodes every
// message as the real bridges do (so nothing passes that would not survive the wire).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ApiError } from './errors.ts'
import { asyncMethod, manifestOf, sourceMethod, type Handlers } from './define.ts'
import { createClient, type ClientTransport } from './client.ts'
import { createDispatcher, parseRequest, type Request, type Response } from './protocol.ts'

const spec = {
  add: asyncMethod<[a: number, b: number], number>(),
  nothing: asyncMethod<[], void>(),
  fail: asyncMethod<[], void>(),
  crash: asyncMethod<[], void>(),
  never: asyncMethod<[], void>(),
  count: sourceMethod<[to: number], number>(),
  forever: sourceMethod<[], number>(),
  brokenStream: sourceMethod<[], number>(),
} as const

class CodedError extends Error {
  override readonly name = 'CodedError'
  readonly code = 'EMSG_TOO_LARGE'
}

interface Harness {
  client: ReturnType<typeof createClient<typeof spec>>
  /** Requests the dispatcher received, as decoded. */
  requests: Request[]
  responses: Response[]
  /** Forever-stream iterators that were stopped by the bridge. */
  stopped: { count: number }
  disconnect(reason: string): void
  dispatcher: ReturnType<typeof createDispatcher>
}

function harness(): Harness {
  const stopped = { count: 0 }
  const handlers: Handlers<typeof spec> = {
    add: async (a, b) => a + b,
    nothing: async () => undefined,
    fail: async () => {
      throw new CodedError('too big by 10')
    },
    crash: () => {
      throw new TypeError('synchronous throw')
    },
    never: () => new Promise(() => {}),
    count: async function* (to) {
      for (let i = 1; i <= to; i++) yield i
    },
    forever: () => {
      let i = 0
      let done = false
      let wake: (() => void) | null = null
      const iterator: AsyncIterableIterator<number> = {
        async next() {
          if (done) return { done: true, value: undefined }
          if (i >= 2) await new Promise<void>((resolve) => (wake = resolve))
          if (done) return { done: true, value: undefined }
          return { done: false, value: ++i }
        },
        async return() {
          done = true
          stopped.count++
          wake?.()
          return { done: true, value: undefined }
        },
        [Symbol.asyncIterator]() {
          return iterator
        },
      }
      return iterator
    },
    brokenStream: async function* () {
      yield 1
      throw new CodedError('stream broke')
    },
  }
  const requests: Request[] = []
  const responses: Response[] = []
  let onResponse: (response: Response) => void = () => {}
  let onClose: (reason: string) => void = () => {}
  let connected = true
  const dispatcher = createDispatcher(spec, handlers, (response) => {
    const wire = JSON.parse(JSON.stringify(response)) as Response
    responses.push(wire)
    if (connected) queueMicrotask(() => onResponse(wire))
  })
  const transport: ClientTransport = {
    send(request) {
      const wire = JSON.parse(JSON.stringify(request)) as Request
      requests.push(wire)
      if (connected) queueMicrotask(() => dispatcher.receive(wire))
    },
    onResponse: (listener) => (onResponse = listener),
    onClose: (listener) => (onClose = listener),
  }
  return {
    client: createClient(spec, transport),
    requests,
    responses,
    stopped,
    dispatcher,
    disconnect(reason) {
      connected = false
      dispatcher.close()
      onClose(reason)
    },
  }
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of source) items.push(item)
  return items
}

test('async calls resolve with results; void results arrive as null', async () => {
  const { client } = harness()
  assert.equal(await client.add(2, 3), 5)
  assert.equal(await client.nothing(), null)
  // Calls in flight at once are matched to their own answers.
  assert.deepEqual(await Promise.all([client.add(1, 1), client.add(10, 20), client.add(-1, 1)]), [2, 30, 0])
})

test('handler errors reject with their name, code and message; anything else is EAPI_INTERNAL', async () => {
  const { client } = harness()
  await assert.rejects(client.fail(), (err: unknown) => {
    assert.ok(err instanceof ApiError)
    assert.deepEqual({ name: err.name, code: err.code, message: err.message }, { name: 'CodedError', code: 'EMSG_TOO_LARGE', message: 'too big by 10' })
    return true
  })
  await assert.rejects(client.crash(), { name: 'TypeError', code: 'EAPI_INTERNAL', message: 'synchronous throw' })
})

test('unknown methods, and methods called as the wrong kind, are refused with EAPI_UNKNOWN_METHOD', async () => {
  const { dispatcher, responses } = harness()
  dispatcher.receive({ type: 'call', id: 1, method: 'nope', args: [] })
  dispatcher.receive({ type: 'call', id: 2, method: 'count', args: [3] })
  dispatcher.receive({ type: 'open', id: 3, method: 'add', args: [1, 2] })
  // Inherited names are not methods.
  dispatcher.receive({ type: 'call', id: 4, method: 'constructor', args: [] })
  dispatcher.receive({ type: 'call', id: 5, method: '__proto__', args: [] })
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(responses.map((r) => [r.type, r.id, 'error' in r ? r.error?.code : null]), [
    ['error', 1, 'EAPI_UNKNOWN_METHOD'],
    ['error', 2, 'EAPI_UNKNOWN_METHOD'],
    ['end', 3, 'EAPI_UNKNOWN_METHOD'],
    ['error', 4, 'EAPI_UNKNOWN_METHOD'],
    ['error', 5, 'EAPI_UNKNOWN_METHOD'],
  ])
})

test('malformed requests get EAPI_BAD_REQUEST and change nothing', async () => {
  const { dispatcher, responses } = harness()
  const bad: unknown[] = [
    null, 42, 'call', [], {}, { type: 'call' }, { type: 'call', id: -1, method: 'add', args: [] },
    { type: 'call', id: 1.5, method: 'add', args: [] }, { type: 'call', id: 7, method: 3, args: [] },
    { type: 'call', id: 8, method: 'add', args: 'no' }, { type: 'shout', id: 9 },
  ]
  for (const request of bad) dispatcher.receive(request)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(responses.length, bad.length)
  for (const response of responses) {
    assert.equal(response.type, 'error')
    assert.equal((response as { error: { code: string } }).error.code, 'EAPI_BAD_REQUEST')
  }
  // Where a usable id was given, the error answers it; otherwise -1.
  assert.deepEqual(responses.map((r) => r.id), [-1, -1, -1, -1, -1, -1, -1, 1.5, 7, 8, 9])
  assert.ok('type' in (parseRequest({ type: 'close', id: 3 }) as object))
})

test('a source yields its items then ends; a failing source ends with its coded error', async () => {
  const { client } = harness()
  assert.deepEqual(await collect(client.count(4)), [1, 2, 3, 4])
  assert.deepEqual(await collect(client.count(0)), [])
  const seen: number[] = []
  await assert.rejects(async () => {
    for await (const item of client.brokenStream()) seen.push(item)
  }, { code: 'EMSG_TOO_LARGE', message: 'stream broke' })
  assert.deepEqual(seen, [1])
})

test('closing a subscription stops the handler stream at once, even while it waits', async () => {
  const { client, stopped, requests, responses } = harness()
  const subscription = client.forever()
  const seen: number[] = []
  for await (const item of subscription) {
    seen.push(item)
    if (seen.length === 2) break // the stream is now waiting for a third item that never comes
  }
  assert.deepEqual(seen, [1, 2])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(stopped.count, 1)
  assert.ok(requests.some((r) => r.type === 'close'))
  // Nothing more is sent for it after the close's end.
  const streamId = requests.find((r) => r.type === 'open')!.id
  const last = responses.filter((r) => r.id === streamId).at(-1)
  assert.equal(last?.type, 'end')
})

test('a disconnect fails pending calls and open streams with EAPI_DISCONNECTED, and later calls too', async () => {
  const { client, disconnect, stopped } = harness()
  const pending = client.never()
  const stream = client.forever()
  const reading = collect(stream)
  await new Promise((resolve) => setImmediate(resolve))
  disconnect('socket closed')
  await assert.rejects(pending, { code: 'EAPI_DISCONNECTED', message: /socket closed/ })
  await assert.rejects(reading, { code: 'EAPI_DISCONNECTED' })
  await assert.rejects(client.add(1, 2), { code: 'EAPI_DISCONNECTED' })
  await assert.rejects(collect(client.count(2)), { code: 'EAPI_DISCONNECTED' })
  // The peer side let go of the stream it was serving.
  assert.equal(stopped.count, 1)
})

test('a malformed error from the peer becomes EAPI_PROTOCOL, not a crash', async () => {
  let respond: (response: Response) => void = () => {}
  const client = createClient(spec, {
    send: (request) => queueMicrotask(() => respond({ type: 'error', id: request.id, error: { nonsense: true } as never })),
    onResponse: (listener) => (respond = listener),
    onClose: () => {},
  })
  await assert.rejects(client.add(1, 2), { code: 'EAPI_PROTOCOL' })
})

test('the manifest gives each method its muxrpc kind', () => {
  assert.deepEqual(manifestOf(spec), {
    add: 'async', nothing: 'async', fail: 'async', crash: 'async', never: 'async', count: 'source', forever: 'source', brokenStream: 'source',
  })
})
