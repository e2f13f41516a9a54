// The policies that keep a hostile post inert even if the renderer slipped: the web bridge's CSP
// on every answer (and Chromium enforcing it), and the desktop window's options, CSP, schemes,
// navigation, new-window and permission handlers, read from the desktop's own exports.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import type { Session, Shell, WebContents } from 'electron'
import { rendererDistDir } from '@hearsay/service'
import { createAppProtocolHandler } from '../../apps/desktop/src/app-protocol.ts'
import { hardenContents, hardenSession, registerSchemes, type DesktopElectron } from '../../apps/desktop/src/main.ts'
import { APP_ORIGIN, APP_SCHEME, APP_URL, BLOB_SCHEME, CONTENT_SECURITY_POLICY, windowOptions } from '../../apps/desktop/src/security.ts'
import { FOREIGN } from '../../e2e/helpers/xss-corpus.ts'
import { openPage } from '../../e2e/helpers/browser.ts'
import type { StressRow } from '../harness.ts'
import { HARDENED_WEB_PREFERENCES } from '../../apps/desktop/src/hardened-window.ts'
import type { BridgeAnswer } from './bridge.ts'

/** Counts each assertion, and keeps the ones that failed. */
class Checks {
  count = 0
  readonly failures: string[] = []
  that(ok: boolean, what: string): void {
    this.count++
    if (!ok) this.failures.push(what)
  }
}

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  )
}

const NEVER_IN_A_POLICY = /unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval|\*|https?:|data:.*script|filesystem:/

/** The page's policy on every bridge answer: strict on what it serves, deny-all on refusals. */
function checkBridgeAnswers(answers: readonly BridgeAnswer[], checks: Checks): void {
  for (const { name, answer, document } of answers) {
    if (!document) continue
    const policy = answer.headers.get('content-security-policy')
    checks.that(policy?.length === 1, `bridge answer to "${name}" (${answer.status}) carries ${policy?.length ?? 0} CSP headers, not one`)
    checks.that(answer.headers.get('x-content-type-options')?.[0] === 'nosniff', `bridge answer to "${name}" lacks nosniff`)
    checks.that(answer.headers.get('x-frame-options')?.[0] === 'DENY', `bridge answer to "${name}" may be framed`)
    if (!policy?.[0]) continue
    const found = directives(policy[0])
    checks.that(!NEVER_IN_A_POLICY.test(policy[0].replace(/img-src [^;]*/, '')), `bridge answer to "${name}": CSP allows too much: ${policy[0]}`)
    if (answer.status !== 200) {
      checks.that(found.get('default-src')?.join(' ') === "'none'", `bridge refusal "${name}" has CSP ${policy[0]}, not default-src 'none'`)
      continue
    }
    checks.that(found.get('script-src')?.join(' ') === "'self'", `bridge page "${name}": script-src is ${found.get('script-src')?.join(' ')}`)
    checks.that(found.get('style-src')?.join(' ') === "'self'", `bridge page "${name}": style-src is ${found.get('style-src')?.join(' ')}`)
    checks.that(/^ws:\/\/(127\.0\.0\.1|localhost):\d+$/.test(found.get('connect-src')?.join(' ') ?? ''), `bridge page "${name}": connect-src is ${found.get('connect-src')?.join(' ')}`)
    for (const name_ of ['object-src', 'base-uri', 'form-action', 'frame-src', 'frame-ancestors']) {
      checks.that(found.get(name_)?.join(' ') === "'none'", `bridge page "${name}": ${name_} is ${found.get(name_)?.join(' ')}`)
    }
  }
}

/**
 * Chromium holds the page to its policy: injected script, handlers, javascript: URLs and string
 * timers never run, and foreign fetches, images, sockets and frames are blocked before any byte
 * leaves. (page.evaluate itself runs as DevTools, which CSP exempts; what it plants runs as the page.)
 */
async function checkEnforced(browser: Browser, webUrl: string, checks: Checks): Promise<void> {
  const watched = await openPage(browser, webUrl, 'stress-web', 'csp')
  const { page } = watched
  const blocked = new Map<string, string>()
  const answered: string[] = []
  page.on('requestfailed', (request) => blocked.set(request.url(), request.failure()?.errorText ?? 'unknown'))
  page.on('response', (response) => {
    if (new URL(response.url()).hostname !== '127.0.0.1') answered.push(response.url())
  })
  try {
    await page.getByRole('navigation', { name: 'Main' }).or(page.getByRole('button', { name: 'Start with this new identity' })).first().waitFor()
    const outcome = (await page.evaluate(`(async () => {
      const injected = document.createElement('script')
      injected.textContent = 'window.xssCanary = "inline script"'
      document.body.append(injected)
      const handler = document.createElement('img')
      handler.setAttribute('onerror', 'window.xssCanary = "handler"')
      handler.src = 'data:,not-an-image'
      document.body.append(handler)
      const link = document.createElement('a')
      link.href = 'javascript:window.xssCanary = "javascript: link"'
      document.body.append(link)
      link.click()
      setTimeout('window.xssCanary = "string timer"', 0)
      const frame = document.createElement('iframe')
      frame.src = ${JSON.stringify(`${FOREIGN}/csp-frame`)}
      document.body.append(frame)
      const fetched = await fetch(${JSON.stringify(`${FOREIGN}/csp-fetch`)}).then(() => 'fetched', () => 'blocked')
      const image = await new Promise((resolve) => {
        const img = new Image()
        img.onload = () => resolve('loaded')
        img.onerror = () => resolve('blocked')
        img.src = ${JSON.stringify(`${FOREIGN}/csp-image.png`)}
      })
      const socket = await new Promise((resolve) => {
        try {
          const ws = new WebSocket('ws://198.51.100.7/csp-socket')
          ws.onopen = () => resolve('open')
          ws.onerror = () => resolve('blocked')
        } catch (err) { resolve(err.name) }
      })
      await new Promise((resolve) => setTimeout(resolve, 0))
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))
      return { canary: window.xssCanary ?? null, fetched, image, socket }
    })()`)) as Record<string, unknown>
    checks.that(outcome.canary === null, `planted code ran under the bridge's CSP (${String(outcome.canary)})`)
    checks.that(outcome.fetched === 'blocked', `a fetch to ${FOREIGN} was not blocked`)
    checks.that(outcome.image === 'blocked', `an image from ${FOREIGN} was not blocked`)
    checks.that(outcome.socket === 'blocked' || outcome.socket === 'SecurityError', `a WebSocket to another host was not blocked: ${String(outcome.socket)}`)
    const violations = await watched.cspViolations()
    for (const directive of ['script-src', 'connect-src', 'img-src', 'frame-src']) {
      checks.that(violations.some((line) => line.includes(directive)), `Chromium reported no ${directive} violation: the policy was not what blocked it (${violations.join(', ')})`)
    }
    checks.that(answered.length === 0, `foreign answers reached the page: ${answered.join(', ')}`)
    for (const url of watched.foreignRequests) {
      const reason = blocked.get(url)
      checks.that(reason !== undefined && /csp/i.test(reason), `a request to ${url} was not blocked by the CSP (${reason ?? 'it went out'})`)
    }
    checks.that(watched.dialogs.length === 0, `a dialog opened: ${watched.dialogs.join(', ')}`)
  } finally {
    await page.context().close()
  }
}

function checkDesktopPolicy(checks: Checks): void {
  const found = directives(CONTENT_SECURITY_POLICY)
  checks.that(found.get('default-src')?.join(' ') === "'none'", `desktop default-src is ${found.get('default-src')?.join(' ')}`)
  checks.that(found.get('script-src')?.join(' ') === "'self'", `desktop script-src is ${found.get('script-src')?.join(' ')}`)
  checks.that(found.get('style-src')?.join(' ') === "'self'", `desktop style-src is ${found.get('style-src')?.join(' ')}`)
  checks.that(found.get('img-src')?.join(' ') === `'self' ${BLOB_SCHEME}: blob:`, `desktop img-src is ${found.get('img-src')?.join(' ')}`)
  for (const name of ['connect-src', 'object-src', 'frame-src', 'worker-src', 'base-uri', 'form-action', 'frame-ancestors']) {
    checks.that(found.get(name)?.join(' ') === "'none'", `desktop ${name} is ${found.get(name)?.join(' ')}`)
  }
  checks.that(!NEVER_IN_A_POLICY.test(CONTENT_SECURITY_POLICY), `desktop CSP allows too much: ${CONTENT_SECURITY_POLICY}`)
}

function checkWindow(checks: Checks): void {
  const preload = '/app/dist/preload.cjs'
  const preferences = windowOptions(preload).webPreferences ?? {}
  const expected: Record<string, unknown> = { preload, ...HARDENED_WEB_PREFERENCES }
  for (const [name, value] of Object.entries(expected)) {
    checks.that((preferences as Record<string, unknown>)[name] === value, `webPreferences.${name} is ${String((preferences as Record<string, unknown>)[name])}, not ${String(value)}`)
  }
  // The remote module is gone from Electron; a preference naming it would be a wish to have it back.
  checks.that(!('enableRemoteModule' in preferences), 'webPreferences names enableRemoteModule')
  checks.that(!('additionalArguments' in preferences) && !('disableBlinkFeatures' in preferences) && !('enableBlinkFeatures' in preferences), 'webPreferences passes extra switches to the renderer')
}

function checkSchemes(checks: Checks): void {
  const registered: Array<{ scheme: string; privileges?: Record<string, boolean> }> = []
  registerSchemes({ registerSchemesAsPrivileged: (schemes: typeof registered) => registered.push(...schemes) } as unknown as DesktopElectron['protocol'])
  const app = registered.find((entry) => entry.scheme === APP_SCHEME)
  const blob = registered.find((entry) => entry.scheme === BLOB_SCHEME)
  checks.that(app?.privileges?.standard === true && app.privileges.secure === true, `${APP_SCHEME}: is not registered standard and secure`)
  checks.that(blob !== undefined && blob.privileges?.standard !== true, `${BLOB_SCHEME}: is standard (hosts would be lowercased) or missing`)
  for (const entry of registered) {
    checks.that(entry.privileges?.bypassCSP !== true, `${entry.scheme}: bypasses the CSP`)
    checks.that(entry.privileges?.allowServiceWorkers !== true, `${entry.scheme}: allows service workers`)
  }
}

const HOSTILE_DESTINATIONS = [
  `${FOREIGN}/`,
  'https://evil.example/',
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'file:///etc/passwd',
  'about:blank',
  'hearsay-app://evil/index.html',
  'hearsay-app://renderer@evil.example/index.html',
  'hearsay-app://renderer:8080/index.html',
  `${BLOB_SCHEME}://x`,
  'chrome://settings',
  'devtools://devtools/bundled/inspector.html',
  'smb://evil.example/share',
  'ms-msdt:/id PCWDiagnostic',
]

/** The navigation, new-window and webview handlers, on a recording stand-in for a WebContents (no Electron binary here). */
function checkContents(checks: Checks): void {
  const listeners = new Map<string, (event: { url: string; preventDefault(): void }) => void>()
  const windows: { openHandler: ((details: { url: string }) => { action: string }) | null } = { openHandler: null }
  const contents = {
    setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) => (windows.openHandler = handler),
    on: (name: string, listener: (event: { url: string; preventDefault(): void }) => void) => listeners.set(name, listener),
  }
  const opened: string[] = []
  hardenContents(contents as unknown as WebContents, { openExternal: async (url: string) => void opened.push(url) } as unknown as Shell)
  const prevented = (name: string, url: string) => {
    let stopped = false
    listeners.get(name)?.({ url, preventDefault: () => (stopped = true) })
    return stopped
  }
  checks.that(windows.openHandler !== null && listeners.has('will-navigate') && listeners.has('will-redirect') && listeners.has('will-attach-webview'), 'a navigation, redirect, webview or new-window handler is missing')
  for (const url of [...HOSTILE_DESTINATIONS, APP_URL]) {
    checks.that(windows.openHandler?.({ url }).action === 'deny', `a new window for ${url} is not denied`)
  }
  for (const url of HOSTILE_DESTINATIONS) {
    checks.that(prevented('will-navigate', url), `navigation to ${url} is allowed`)
    checks.that(prevented('will-redirect', url), `a redirect to ${url} is allowed`)
  }
  for (const url of [APP_URL, `${APP_ORIGIN}/index.html#/thread/x`]) {
    checks.that(!prevented('will-navigate', url), `navigation inside the app (${url}) is refused`)
  }
  checks.that(prevented('will-attach-webview', APP_URL), 'a <webview> may attach')
  const external = opened.filter((url) => !/^https?:\/\//i.test(url))
  checks.that(external.length === 0, `handed to the system browser: ${external.join(', ')}`)
}

/** Permissions and the CSP header on a recording stand-in for the session. */
function checkSession(checks: Checks): void {
  const handlers: Record<string, (...args: unknown[]) => unknown> = {}
  hardenSession({
    setPermissionRequestHandler: (handler: (...args: unknown[]) => unknown) => (handlers.request = handler),
    setPermissionCheckHandler: (handler: (...args: unknown[]) => unknown) => (handlers.check = handler),
    setDevicePermissionHandler: (handler: (...args: unknown[]) => unknown) => (handlers.device = handler),
    webRequest: { onHeadersReceived: (handler: (...args: unknown[]) => unknown) => (handlers.headers = handler) },
  } as unknown as Session)
  const permissions = ['media', 'geolocation', 'notifications', 'midi', 'midiSysex', 'pointerLock', 'fullscreen', 'openExternal', 'clipboard-read', 'clipboard-sanitized-write', 'display-capture', 'hid', 'serial', 'usb', 'unknown']
  for (const permission of permissions) {
    let granted: unknown = 'never answered'
    handlers.request?.(null, permission, (answer: boolean) => (granted = answer), {})
    checks.that(granted === false, `permission request ${permission}: ${String(granted)}`)
    checks.that(handlers.check?.(null, permission, APP_ORIGIN, {}) === false, `permission check ${permission} is not false`)
  }
  checks.that(handlers.device?.({ deviceType: 'usb', origin: APP_ORIGIN }) === false, 'device permission is not false')
  for (const header of ['Content-Security-Policy', 'content-security-policy', 'CONTENT-SECURITY-POLICY']) {
    for (const resourceType of ['mainFrame', 'subFrame']) {
      let result: { responseHeaders?: Record<string, string | string[]> } | undefined
      handlers.headers?.({ resourceType, responseHeaders: { [header]: ["script-src * 'unsafe-inline'"], 'Content-Type': ['text/html'] } }, (answer: typeof result) => (result = answer))
      const policies = Object.entries(result?.responseHeaders ?? {}).filter(([name]) => name.toLowerCase() === 'content-security-policy')
      checks.that(policies.length === 1 && JSON.stringify(policies[0]![1]) === JSON.stringify([CONTENT_SECURITY_POLICY]), `a ${resourceType} answer with its own ${header} keeps it: ${JSON.stringify(policies)}`)
    }
  }
}

/** Every answer of the app protocol, served or refused, carries the desktop CSP and nosniff. */
async function checkAppProtocol(checks: Checks): Promise<void> {
  const rendererDir = rendererDistDir()
  const fetchFile = async (url: string) => {
    try {
      return new Response(await fs.readFile(fileURLToPath(url)))
    } catch {
      return new Response(null, { status: 404 })
    }
  }
  const handler = createAppProtocolHandler(rendererDir, fetchFile)
  const assets = (await fs.readdir(path.join(rendererDir, 'assets'))).map((file) => `${APP_ORIGIN}/assets/${file}`)
  const requests = [
    new Request(APP_URL),
    new Request(`${APP_ORIGIN}/`),
    new Request(`${APP_ORIGIN}/favicon.svg`),
    ...assets.map((url) => new Request(url)),
    new Request(`${APP_ORIGIN}/../../../etc/passwd`),
    new Request(`${APP_ORIGIN}/%2e%2e/%2e%2e/etc/passwd`),
    new Request(`${APP_ORIGIN}/assets/..%2f..%2fpackage.json`),
    new Request(`${APP_SCHEME}://evil/index.html`),
    new Request(`${APP_ORIGIN}/missing.js`),
    new Request(APP_URL, { method: 'POST', body: 'x' }),
  ]
  let served = 0
  for (const request of requests) {
    const response = await handler(request)
    if (response.status === 200) served++
    checks.that(response.headers.get('Content-Security-Policy') === CONTENT_SECURITY_POLICY, `app protocol answer to ${request.method} ${request.url} (${response.status}) lacks the CSP`)
    checks.that(response.headers.get('X-Content-Type-Options') === 'nosniff', `app protocol answer to ${request.method} ${request.url} lacks nosniff`)
    await response.body?.cancel()
  }
  checks.that(served === 3 + assets.length, `the app protocol served ${served} of the ${3 + assets.length} renderer files`)
}

export async function checkPolicies(browser: Browser, webUrl: string, answers: readonly BridgeAnswer[]): Promise<StressRow> {
  const checks = new Checks()
  const parts: Array<[string, () => unknown]> = [
    ['bridge answers', () => checkBridgeAnswers(answers, checks)],
    ['Chromium enforcement', () => checkEnforced(browser, webUrl, checks)],
    ['desktop CSP', () => checkDesktopPolicy(checks)],
    ['window options', () => checkWindow(checks)],
    ['schemes', () => checkSchemes(checks)],
    ['navigation handlers', () => checkContents(checks)],
    ['session handlers', () => checkSession(checks)],
    ['app protocol', () => checkAppProtocol(checks)],
  ]
  for (const [name, part] of parts) {
    try {
      await part()
    } catch (err) {
      checks.failures.push(`${name} threw: ${(err as Error).message}`)
    }
  }
  return {
    target: 'web: CSP and Electron window hardening',
    tried: checks.count,
    unit: 'checks',
    detail: `${answers.length} bridge answers · desktop CSP, webPreferences, schemes, navigation, permissions, app protocol`,
    failures: checks.failures,
  }
}
