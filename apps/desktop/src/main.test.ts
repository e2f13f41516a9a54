import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdtempSync, promises as fs, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { openBlobStore } from '@hearsay/blobs'
import { Channel } from './channels.ts'
import { startDesktop, type DesktopElectron } from './main.ts'
import { APP_URL, CONTENT_SECURITY_POLICY } from './security.ts'

// Recording fakes of the few Electron APIs main.ts uses: they stand in for the Electron binary,
// which cannot run here, and record what main asked of Electron.

type Handler = (...args: unknown[]) => unknown

class FakeContents extends EventEmitter {
  readonly mainFrame: { name: string; url: string } = { name: 'main frame', url: APP_URL }
  readonly sent: Array<{ channel: string; args: unknown[] }> = []
  readonly posted: Array<{ channel: string; message: unknown; transfer: unknown[] }> = []
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args })
  }
  postMessage(channel: string, message: unknown, transfer: unknown[] = []) {
    this.posted.push({ channel, message, transfer })
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = handler
  }
}

class FakeUtilityProcess extends EventEmitter {
  readonly messages: Array<{ message: unknown; transfer: unknown[] | undefined }> = []
  killed = false
  constructor(readonly modulePath: string, readonly options: unknown) {
    super()
  }
  postMessage(message: unknown, transfer?: unknown[]) {
    this.messages.push({ message, transfer })
  }
  kill() {
    this.killed = true
    return true
  }
}

function fakeElectron({ singleInstance = true } = {}) {
  const calls: string[] = []
  const windows: FakeWindow[] = []
  const forks: FakeUtilityProcess[] = []
  const opened: string[] = []
  const fetched: string[] = []
  const protocolHandlers = new Map<string, (request: Request) => Promise<Response>>()
  const privileged: unknown[] = []
  const sessionHandlers: Record<string, Handler> = {}
  let channels = 0

  class FakeWindow extends EventEmitter {
    readonly webContents = new FakeContents()
    loaded: string | null = null
    minimized = true
    constructor(readonly options: Electron.BrowserWindowConstructorOptions) {
      super()
      windows.push(this)
    }
    async loadURL(url: string) {
      this.loaded = url
    }
    isDestroyed() {
      return false
    }
    isMinimized() {
      return this.minimized
    }
    restore() {
      this.minimized = false
      calls.push('restore')
    }
    show() {
      calls.push('show')
    }
    focus() {
      calls.push('focus')
    }
  }

  const app = Object.assign(new EventEmitter(), {
    requestSingleInstanceLock: () => singleInstance,
    quit: () => calls.push('quit'),
    exit: () => calls.push('exit'),
    whenReady: async () => undefined,
    isPackaged: false,
  })
  const electron = {
    app,
    BrowserWindow: FakeWindow,
    ipcMain: new EventEmitter(),
    MessageChannelMain: class {
      readonly port1 = { name: `port1#${++channels}` }
      readonly port2 = { name: `port2#${channels}` }
    },
    net: {
      fetch: async (url: string) => {
        fetched.push(url)
        return new Response('<!doctype html>', { headers: { 'Content-Type': 'text/html' } })
      },
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => privileged.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) => protocolHandlers.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: Handler) => (sessionHandlers.permissionRequest = handler),
        setPermissionCheckHandler: (handler: Handler) => (sessionHandlers.permissionCheck = handler),
        setDevicePermissionHandler: (handler: Handler) => (sessionHandlers.devicePermission = handler),
        webRequest: { onHeadersReceived: (handler: Handler) => (sessionHandlers.headersReceived = handler) },
      },
    },
    shell: {
      openExternal: async (url: string) => {
        opened.push(url)
      },
    },
    utilityProcess: {
      fork: (modulePath: string, _args: string[], options: unknown) => {
        const child = new FakeUtilityProcess(modulePath, options)
        forks.push(child)
        return child
      },
    },
  }
  return { electron: electron as unknown as DesktopElectron, app, ipcMain: electron.ipcMain, calls, windows, forks, opened, fetched, protocolHandlers, privileged, sessionHandlers }
}

// A built renderer is all main reads from disk itself (the rest it hands to Electron).
const rendererDir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-main-renderer-'))
writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html>')
after(() => rmSync(rendererDir, { recursive: true, force: true }))
const paths = { preload: '/app/dist/preload.cjs', backend: '/app/entry/utility.mjs', rendererDir }

async function started(options?: { singleInstance?: boolean }) {
  const fake = fakeElectron(options)
  const desktop = startDesktop(fake.electron, paths)
  assert.ok(desktop)
  await desktop.ready
  const window = fake.windows[0]
  const backend = fake.forks[0]
  assert.ok(window && backend)
  return { ...fake, desktop, window, backend }
}

function ipcEvent(sender: FakeContents, senderFrame: unknown = sender.mainFrame) {
  return { sender, senderFrame }
}

test('a second instance quits at once and the first one brings its window forward', async () => {
  const second = fakeElectron({ singleInstance: false })
  assert.equal(startDesktop(second.electron, paths), null)
  assert.deepEqual(second.calls, ['quit'])
  assert.equal(second.windows.length, 0, 'no window')
  assert.equal(second.forks.length, 0, 'no second peer on the same data')

  const first = await started()
  first.app.emit('second-instance', {}, ['electron', '.'], '/')
  assert.deepEqual(first.calls, ['restore', 'show', 'focus'])
})

test('one hardened window loads the built renderer; the peer runs in a utility process', async () => {
  const { windows, window, backend, privileged, protocolHandlers } = await started()
  assert.equal(windows.length, 1)
  const prefs = window.options.webPreferences
  assert.equal(prefs?.preload, paths.preload)
  assert.equal(prefs?.contextIsolation, true)
  assert.equal(prefs?.sandbox, true)
  assert.equal(prefs?.nodeIntegration, false)
  assert.equal(prefs?.webSecurity, true)
  assert.equal(window.loaded, APP_URL)
  assert.equal(backend.modulePath, paths.backend)
  assert.deepEqual(backend.options, { serviceName: 'Hearsay peer' }, 'inherits the environment unless told otherwise')
  assert.deepEqual(privileged, [
    { scheme: 'hearsay-app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
    { scheme: 'hearsay-blob', privileges: { secure: true } },
  ])
  assert.deepEqual([...protocolHandlers.keys()].sort(), ['hearsay-app', 'hearsay-blob'])
})

test('the app protocol reads the renderer’s files through Electron’s net.fetch, with the CSP', async () => {
  const { protocolHandlers, fetched } = await started()
  const response = await protocolHandlers.get('hearsay-app')?.(new Request(APP_URL))
  assert.equal(response?.status, 200)
  assert.equal(response?.headers.get('Content-Security-Policy'), CONTENT_SECURITY_POLICY)
  assert.deepEqual(fetched, [pathToFileURL(path.join(rendererDir, 'index.html')).href])
})

test('the peer gets the environment it is given (esbuild’s unpacked binary, when packaged)', async () => {
  const fake = fakeElectron()
  const env = { ESBUILD_BINARY_PATH: '/opt/Hearsay/resources/app.asar.unpacked/node_modules/@esbuild/linux-x64/bin/esbuild' }
  await startDesktop(fake.electron, { ...paths, backendEnv: env })?.ready
  assert.deepEqual(fake.forks[0]?.options, { serviceName: 'Hearsay peer', env })
})

test('its own window gets a port to the peer; IPC from any other sender or frame is ignored', async () => {
  const { ipcMain, window, backend } = await started()
  const stranger = new FakeContents()
  ipcMain.emit(Channel.connect, ipcEvent(stranger))
  ipcMain.emit(Channel.connect, ipcEvent(window.webContents, { name: 'an iframe' }))
  ipcMain.emit(Channel.connect, ipcEvent(window.webContents, null))
  window.webContents.mainFrame.url = 'https://evil.example/' // were the window ever to show something else
  ipcMain.emit(Channel.connect, ipcEvent(window.webContents))
  window.webContents.mainFrame.url = APP_URL
  assert.deepEqual(backend.messages, [], 'the peer was never asked')
  assert.deepEqual(window.webContents.posted, [])
  assert.deepEqual(window.webContents.sent, [])
  assert.deepEqual(stranger.posted, [])
  assert.deepEqual(stranger.sent, [])

  ipcMain.emit(Channel.connect, ipcEvent(window.webContents))
  assert.deepEqual(backend.messages, [{ message: { type: 'connect' }, transfer: [{ name: 'port1#1' }] }])
  assert.deepEqual(window.webContents.posted, [{ channel: Channel.port, message: null, transfer: [{ name: 'port2#1' }] }])
  // A reload asks again and gets a fresh line.
  ipcMain.emit(Channel.connect, ipcEvent(window.webContents))
  assert.deepEqual(backend.messages[1], { message: { type: 'connect' }, transfer: [{ name: 'port1#2' }] })
})

test('a peer that fails to start or dies is reported to the window, and no port is handed out', async () => {
  const { ipcMain, window, backend } = await started()
  backend.emit('message', { type: 'failed', message: 'the data directory is locked by another Hearsay' })
  const reason = 'the peer could not start: the data directory is locked by another Hearsay'
  assert.deepEqual(window.webContents.sent, [{ channel: Channel.closed, args: [reason] }])
  ipcMain.emit(Channel.connect, ipcEvent(window.webContents))
  assert.deepEqual(window.webContents.sent[1], { channel: Channel.closed, args: [reason] })
  assert.deepEqual(backend.messages, [])

  const other = await started()
  other.backend.emit('exit', 3)
  assert.deepEqual(other.window.webContents.sent, [{ channel: Channel.closed, args: ['the peer stopped unexpectedly (exit code 3)'] }])
  other.ipcMain.emit(Channel.connect, ipcEvent(other.window.webContents))
  assert.deepEqual(other.window.webContents.sent[1], { channel: Channel.closed, args: ['the peer is not running'] })
})

test('quitting lets the peer close its store first', async () => {
  const { app, backend, calls } = await started()
  let prevented = 0
  const quitEvent = { preventDefault: () => prevented++ }
  app.emit('before-quit', quitEvent)
  assert.equal(prevented, 1)
  assert.deepEqual(backend.messages, [{ message: { type: 'stop' }, transfer: undefined }])
  app.emit('before-quit', quitEvent) // a second Ctrl-Q while waiting sends no second stop
  assert.equal(backend.messages.length, 1)
  assert.deepEqual(calls, [])
  backend.emit('exit', 0)
  assert.deepEqual(calls, ['quit'])
  app.emit('before-quit', quitEvent)
  assert.equal(prevented, 2, 'with the peer gone, the quit goes ahead')
})

test('every web contents: no new windows, no navigation away, http(s) links to the system browser only', async () => {
  const { app, opened } = await started()
  const contents = new FakeContents()
  app.emit('web-contents-created', {}, contents)
  assert.ok(contents.windowOpenHandler)
  const navigate = (event: string, url: string) => {
    let prevented = false
    contents.emit(event, { url, preventDefault: () => (prevented = true) })
    return prevented
  }

  assert.deepEqual(contents.windowOpenHandler({ url: 'https://scuttlebutt.nz/' }), { action: 'deny' })
  assert.deepEqual(contents.windowOpenHandler({ url: 'javascript:alert(1)' }), { action: 'deny' })
  assert.deepEqual(contents.windowOpenHandler({ url: 'file:///etc/passwd' }), { action: 'deny' })
  assert.equal(navigate('will-navigate', 'http://example.com/'), true)
  assert.equal(navigate('will-navigate', 'javascript:alert(1)'), true)
  assert.equal(navigate('will-navigate', 'file:///home/user/.hearsay/secret'), true)
  assert.equal(navigate('will-navigate', 'hearsay-blob://x'), true)
  assert.equal(navigate('will-navigate', APP_URL), false, 'a reload of the app itself goes ahead')
  assert.equal(navigate('will-redirect', 'https://evil.example/'), true)
  assert.equal(navigate('will-attach-webview', 'https://evil.example/'), true)
  assert.deepEqual(opened, ['https://scuttlebutt.nz/', 'http://example.com/'])
})

test('every permission request is denied and every document gets the CSP', async () => {
  const { sessionHandlers } = await started()
  for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
    let granted: boolean | null = null
    sessionHandlers.permissionRequest?.({}, permission, (answer: boolean) => (granted = answer), {})
    assert.equal(granted, false, permission)
    assert.equal(sessionHandlers.permissionCheck?.({}, permission, APP_URL, {}), false, permission)
  }
  assert.equal(sessionHandlers.devicePermission?.({}), false)

  let answer: unknown
  sessionHandlers.headersReceived?.(
    { resourceType: 'mainFrame', responseHeaders: { 'content-security-policy': ["default-src *"], 'Content-Type': ['text/html'] } },
    (response: unknown) => (answer = response),
  )
  assert.deepEqual(answer, { responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
  sessionHandlers.headersReceived?.({ resourceType: 'image', responseHeaders: {} }, (response: unknown) => (answer = response))
  assert.deepEqual(answer, {}, 'subresources keep their own headers')
})

test('blobs are served from the folder the peer reports, and from nowhere before it does', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-main-blobs-'))
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  const store = await openBlobStore({ dir })
  t.after(() => store.close())
  const id = await store.add(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'))
  const { backend, protocolHandlers } = await started()
  const serve = protocolHandlers.get('hearsay-blob')
  assert.ok(serve)
  const url = `hearsay-blob://${encodeURIComponent(id)}`
  assert.equal((await serve(new Request(url))).status, 404)
  backend.emit('message', { type: 'ready', id: '@me.ed25519', blobsDir: store.dir })
  const response = await serve(new Request(url))
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('Content-Type'), 'image/gif')
})

test('without a built renderer there is no window and no peer, and the error says what to do', async () => {
  const fake = fakeElectron()
  const desktop = startDesktop(fake.electron, { ...paths, rendererDir: path.join(rendererDir, 'missing') })
  await assert.rejects(desktop?.ready ?? Promise.resolve(), /the app's UI is not built \(no .*missing\/index\.html\): run `npm install`/)
  assert.equal(fake.windows.length, 0)
  assert.equal(fake.forks.length, 0)
})
