import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { ApiError, clientApi, createClient, type Request, type Response } from '@hearsay/client-api'
import { startApp } from '@hearsay/service'
import { runBackend, type ParentLine, type PeerPort, type RunningApp } from './backend.ts'
import { BRIDGE_NAME, createBridge, exposeBridge } from './bridge.ts'
import { Channel, type BackendReport } from './channels.ts'

/** A recording stand-in for the preload's `ipcRenderer`: main's messages are emitted on it. */
class FakeIpcRenderer extends EventEmitter {
  readonly sent: string[] = []
  send(channel: string) {
    this.sent.push(channel)
  }
  deliverPort(port: MessagePort) {
    this.emit(Channel.port, { ports: [port] })
  }
}

/** Node's MessagePort, shaped like Electron's MessagePortMain (events carry `{ data }`). */
function asPortMain(port: MessagePort): PeerPort {
  return {
    on(event: 'message' | 'close', listener: (event: { data: unknown }) => void) {
      if (event === 'message') port.on('message', (data) => listener({ data }))
      else port.on('close', () => listener({ data: undefined }))
      return this
    },
    postMessage: (message) => port.postMessage(message),
    start: () => port.start(),
  }
}

/** Collects what `subscribe` delivers; `count(n)` settles once n items have arrived. */
function collector<T>() {
  const items: T[] = []
  const waiting: Array<{ n: number; resolve: () => void }> = []
  return {
    items,
    push(item: T) {
      items.push(item)
      for (const wait of waiting.filter((entry) => items.length >= entry.n)) wait.resolve()
    },
    count(n: number): Promise<void> {
      return items.length >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }))
    },
  }
}

test('the page gets exactly the client transport under window.hearsay', () => {
  const exposed: Array<[string, unknown]> = []
  const ipc = new FakeIpcRenderer()
  exposeBridge({ exposeInMainWorld: (key: string, api: unknown) => exposed.push([key, api]) }, ipc as never)
  assert.equal(exposed.length, 1)
  const [key, api] = exposed[0] ?? []
  assert.equal(key, BRIDGE_NAME)
  assert.deepEqual(Object.keys(api as object).sort(), ['onClose', 'onResponse', 'send'])
  for (const value of Object.values(api as object)) assert.equal(typeof value, 'function')
  assert.deepEqual(ipc.sent, [Channel.connect], 'asks main for a port once, at load')
})

test('requests wait for the port, then pass straight through in order; responses come back', { timeout: 10_000 }, async (t) => {
  const ipc = new FakeIpcRenderer()
  const bridge = createBridge(ipc as never)
  const responses = collector<Response>()
  bridge.onResponse((response) => responses.push(response))
  const first: Request = { type: 'call', id: 1, method: 'status', args: [] }
  const second: Request = { type: 'open', id: 2, method: 'statusLive', args: [] }
  bridge.send(first)
  bridge.send(second)

  const { port1, port2 } = new MessageChannel()
  t.after(() => port2.close())
  const received = collector<unknown>()
  port2.on('message', (message) => received.push(message))
  ipc.deliverPort(port1)
  // A second port (main never sends one, but a confused or hostile message must not re-route us).
  const intruder = new MessageChannel()
  t.after(() => intruder.port2.close())
  const intruded: unknown[] = []
  intruder.port2.on('message', (message) => intruded.push(message))
  ipc.deliverPort(intruder.port1)

  const third: Request = { type: 'close', id: 2 }
  bridge.send(third)
  await received.count(3)
  assert.deepEqual(received.items, [first, second, third])
  assert.deepEqual(intruded, [])

  const answer: Response = { type: 'result', id: 1, value: { ok: true } }
  port2.postMessage(answer)
  await responses.count(1)
  assert.deepEqual(responses.items, [answer])
})

test('when main says the peer is gone, listeners hear why and later sends go nowhere', async () => {
  const ipc = new FakeIpcRenderer()
  const bridge = createBridge(ipc as never)
  const reasons: string[] = []
  bridge.onClose((reason) => reasons.push(reason))
  ipc.emit(Channel.closed, {}, 'the peer could not start: locked')
  ipc.emit(Channel.closed, {}, 'twice')
  assert.deepEqual(reasons, ['the peer could not start: locked'])
  const late: string[] = []
  bridge.onClose((reason) => late.push(reason))
  assert.deepEqual(late, ['the peer could not start: locked'], 'a listener added after the close hears it at once')
  bridge.send({ type: 'call', id: 9, method: 'status', args: [] }) // dropped, not queued

  const other = new FakeIpcRenderer()
  const otherReasons: string[] = []
  createBridge(other as never).onClose((reason) => otherReasons.push(reason))
  other.emit(Channel.closed, {}, { not: 'a string' })
  assert.deepEqual(otherReasons, ['the peer went away'])
})

test('page → preload → port → utility process → the real peer, and back', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-desktop-bridge-'))
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }))

  const parent = new EventEmitter()
  const reports: BackendReport[] = []
  let exit: (code: number) => void = () => undefined
  const exited = new Promise<number>((resolve) => (exit = resolve))
  const line: ParentLine = {
    on: (event, listener) => parent.on(event, listener),
    postMessage: (report) => reports.push(report),
  }
  let app: RunningApp | null = null
  const running = runBackend(
    line,
    async () => (app = await startApp({ dataDir, port: 0 })),
    (code) => exit(code),
  )

  // Main hands the window its port at once; the peer may still be opening its store.
  const { port1, port2 } = new MessageChannel()
  parent.emit('message', { data: { type: 'connect' }, ports: [asPortMain(port2)] })
  const ipc = new FakeIpcRenderer()
  const bridge = createBridge(ipc as never)
  const client = createClient(clientApi, bridge)
  const strayAnswer = new Promise<Response>((resolve) => bridge.onResponse((response) => response.id === 10_000 && resolve(response)))
  ipc.deliverPort(port1)

  const setup = await client.setup()
  await running
  assert.ok(app)
  const started: RunningApp = app
  assert.deepEqual(reports, [{ type: 'ready', id: started.id, blobsDir: started.blobs.dir }])
  assert.equal(setup.id, started.id)

  const live = client.statusLive()
  for await (const status of live) {
    assert.ok(status !== null && typeof status === 'object')
    break
  }
  // A call to no such method, sent raw down the port (as a compromised page might), is refused;
  // a bad argument is refused with its code; and the line stays usable.
  port1.postMessage({ type: 'call', id: 10_000, method: 'fs.readFile', args: ['/etc/passwd'] })
  const stray = await strayAnswer
  assert.equal(stray.type, 'error')
  assert.equal(stray.type === 'error' && stray.error.code, 'EAPI_UNKNOWN_METHOD')
  await assert.rejects(client.thread('not a message id' as never), (err: unknown) => err instanceof ApiError && err.code === 'EAPI_BAD_ARGUMENT')
  assert.equal((await client.setup()).id, started.id)

  parent.emit('message', { data: { type: 'stop' }, ports: [] })
  assert.equal(await exited, 0)
  port1.close()
})

test('a peer that cannot start is reported, and the process still stops when told', async () => {
  const parent = new EventEmitter()
  const reports: BackendReport[] = []
  const exits: number[] = []
  let exited: () => void = () => undefined
  const stopped = new Promise<void>((resolve) => (exited = resolve))
  await runBackend(
    { on: (event, listener) => parent.on(event, listener), postMessage: (report) => reports.push(report) },
    () => Promise.reject(Object.assign(new Error('the data directory is locked'), { code: 'LEVEL_LOCKED' })),
    (code) => {
      exits.push(code)
      exited()
    },
  )
  assert.deepEqual(reports, [{ type: 'failed', message: 'the data directory is locked' }])
  assert.deepEqual(exits, [], 'stays up until stopped, so the report is not lost')
  parent.emit('message', { data: { type: 'connect' }, ports: [] })
  parent.emit('message', { data: null, ports: [] })
  parent.emit('message', { data: { type: 'stop' }, ports: [] })
  await stopped
  assert.deepEqual(exits, [0])
})
