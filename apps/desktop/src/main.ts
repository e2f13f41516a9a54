import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { BrowserWindow, IpcMainEvent, MessagePortMain, Session, Shell, UtilityProcess, WebContents } from 'electron'
import { createAppProtocolHandler } from './app-protocol.ts'
import { createBlobProtocolHandler } from './blob-protocol.ts'
import { Channel, type BackendCommand, type BackendReport } from './channels.ts'
import { APP_SCHEME, APP_URL, BLOB_SCHEME, CONTENT_SECURITY_POLICY, isAppUrl, isExternalWebUrl, windowOptions } from './security.ts'

/**
 * The parts of the `electron` module the main process uses. Passed in rather than imported so
 * the wiring can be exercised without the Electron binary.
 */
export type DesktopElectron = Pick<
  typeof import('electron'),
  'app' | 'BrowserWindow' | 'ipcMain' | 'MessageChannelMain' | 'net' | 'protocol' | 'session' | 'shell' | 'utilityProcess'
>

export interface DesktopPaths {
  /** The bundled preload script (a single CommonJS file, as sandboxed preloads must be). */
  preload: string
  /** The utility process entry that runs the peer. */
  backend: string
  /** The built renderer (index.html and its assets). */
  rendererDir: string
  /** Environment for the utility process (default: the main process's). */
  backendEnv?: NodeJS.ProcessEnv
}

/** How long the peer gets to close its store when the app quits, before it is killed. */
const PEER_STOP_GRACE_MS = 5000

/** Hands `url` to the system browser if it is an http(s) link; anything else goes nowhere. */
function openExternally(shell: Pick<Shell, 'openExternal'>, url: string): void {
  if (isExternalWebUrl(url)) void shell.openExternal(url).catch(() => undefined)
}

/**
 * Denies every navigation away from the built renderer and every new window, for any web
 * contents the app ever creates; http(s) links go to the system browser instead.
 */
export function hardenContents(contents: WebContents, shell: Pick<Shell, 'openExternal'>): void {
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(shell, url)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url)) return
    event.preventDefault()
    openExternally(shell, event.url)
  })
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/** Denies every permission, and puts the CSP on every document the session loads. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler(() => false)
  session.webRequest.onHeadersReceived((details, callback) => {
    if (details.resourceType !== 'mainFrame' && details.resourceType !== 'subFrame') return callback({})
    const responseHeaders: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') responseHeaders[name] = value
    }
    responseHeaders['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY]
    callback({ responseHeaders })
  })
}

/** Registers the app's schemes; must run before the app is ready. */
export function registerSchemes(protocol: DesktopElectron['protocol']): void {
  protocol.registerSchemesAsPrivileged([
    // Standard and secure: relative URLs resolve, and the page is a secure context with an origin.
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
    // Deliberately not standard: a standard scheme would lowercase the "host", i.e. the base64 id.
    { scheme: BLOB_SCHEME, privileges: { secure: true } },
  ])
}

export interface Desktop {
  /** Settles once the window has loaded the renderer. */
  ready: Promise<void>
  window(): BrowserWindow | null
}

/**
 * Runs the desktop app: one instance, one hardened window, and the peer in a utility process.
 * The window talks to the peer over a MessagePort the main process hands it; the main process
 * only brokers ports. Returns null when another instance is already running (it gets focused).
 */
export function startDesktop(electron: DesktopElectron, paths: DesktopPaths): Desktop | null {
  const { app, BrowserWindow, ipcMain, MessageChannelMain, net, protocol, session, shell, utilityProcess } = electron

  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return null
  }
  registerSchemes(protocol)

  let window: BrowserWindow | null = null
  let backend: UtilityProcess | null = null
  let blobsDir: string | null = null
  let peerFailure: string | null = null
  let stopping = false

  const tellWindowClosed = (reason: string) => {
    if (window && !window.isDestroyed()) window.webContents.send(Channel.closed, reason)
  }
  const command = (message: BackendCommand, transfer?: MessagePortMain[]) => backend?.postMessage(message, transfer)

  app.on('second-instance', () => {
    if (!window || window.isDestroyed()) return
    if (window.isMinimized()) window.restore()
    window.show()
    window.focus()
  })
  app.on('web-contents-created', (_event, contents) => hardenContents(contents, shell))
  app.on('window-all-closed', () => app.quit())
  app.on('before-quit', (event) => {
    if (!backend) return
    event.preventDefault()
    if (stopping) return
    stopping = true
    const peer = backend
    peer.once('exit', () => app.quit())
    setTimeout(() => peer.kill(), PEER_STOP_GRACE_MS).unref()
    command({ type: 'stop' })
  })

  // Only the app's own window, from its top frame showing the app, may ask for a line to the peer.
  const fromOwnWindow = (event: IpcMainEvent) =>
    window !== null &&
    !window.isDestroyed() &&
    event.sender === window.webContents &&
    event.senderFrame !== null &&
    event.senderFrame === window.webContents.mainFrame &&
    isAppUrl(event.senderFrame.url)
  ipcMain.on(Channel.connect, (event) => {
    if (!fromOwnWindow(event)) return
    if (!backend || peerFailure !== null) {
      event.sender.send(Channel.closed, peerFailure ?? 'the peer is not running')
      return
    }
    const { port1, port2 } = new MessageChannelMain()
    command({ type: 'connect' }, [port1])
    event.sender.postMessage(Channel.port, null, [port2])
  })

  const startPeer = () => {
    const peer = utilityProcess.fork(paths.backend, [], { serviceName: 'Hearsay peer', ...(paths.backendEnv ? { env: paths.backendEnv } : {}) })
    peer.on('message', (report: BackendReport) => {
      if (report.type === 'ready') blobsDir = report.blobsDir
      else {
        peerFailure = `the peer could not start: ${report.message}`
        tellWindowClosed(peerFailure)
      }
    })
    peer.on('exit', (code) => {
      backend = null
      if (!stopping) tellWindowClosed(peerFailure ?? `the peer stopped unexpectedly (exit code ${code})`)
    })
    return peer
  }

  const ready = (async () => {
    await app.whenReady()
    try {
      await fs.access(path.join(paths.rendererDir, 'index.html'))
    } catch {
      throw new Error(`the app's UI is not built (no ${path.join(paths.rendererDir, 'index.html')}): run \`npm install\`, which builds it`)
    }
    hardenSession(session.defaultSession)
    protocol.handle(APP_SCHEME, createAppProtocolHandler(paths.rendererDir, (url) => net.fetch(url)))
    protocol.handle(BLOB_SCHEME, createBlobProtocolHandler(() => blobsDir))
    backend = startPeer()
    const created = new BrowserWindow(windowOptions(paths.preload))
    window = created
    created.once('ready-to-show', () => created.show())
    created.on('closed', () => {
      if (window === created) window = null
    })
    await created.loadURL(APP_URL)
  })()

  return { ready, window: () => window }
}
