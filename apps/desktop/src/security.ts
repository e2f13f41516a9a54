import type { BrowserWindowConstructorOptions } from 'electron'

/** The renderer's own origin: a custom scheme, so `'self'` in the CSP means the built app only. */
export const APP_SCHEME = 'hearsay-app'
export const APP_HOST = 'renderer'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_URL = `${APP_ORIGIN}/index.html`

/** Where images stored as blobs load from: `hearsay-blob://<encodeURIComponent(&…sha256)>`. */
export const BLOB_SCHEME = 'hearsay-blob'

/**
 * The window's Content-Security-Policy. Scripts and styles come only from the built renderer;
 * images only from it and the local blob store (plus `blob:` for previews of attachments the
 * user picked); no network at all, since the client API goes over a MessagePort.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  `img-src 'self' ${BLOB_SCHEME}: blob:`,
  "font-src 'self'",
  "connect-src 'none'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "manifest-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The hardened window: the page gets no Node, no Electron, only what the preload exposes. */
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    title: 'Hearsay',
    width: 1100,
    height: 800,
    minWidth: 420,
    minHeight: 480,
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: true,
    },
  }
}

/** Whether `url` may be handed to the system browser: http(s) only, never file:, javascript: and the like. */
export function isExternalWebUrl(url: string): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== ''
}

/** Whether a navigation stays inside the built renderer (a reload, or a link to one of its pages). */
export function isAppUrl(url: string): boolean {
  try {
    // Not `.origin`: outside Chromium a custom scheme's origin is opaque ("null").
    const parsed = new URL(url)
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && parsed.username === '' && parsed.password === '' && parsed.port === ''
  } catch {
    return false
  }
}
