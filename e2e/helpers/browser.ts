// Debian's Chromium driven by playwright-core, with what every e2e test checks on a page: that
// nothing is requested from anywhere but 127.0.0.1, no dialog opens, and no CSP violation is
// reported (the renderer never even tries to load something foreign).
import assert from 'node:assert/strict'
import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Teardown } from './peer.ts'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'
const artifactsRoot = fileURLToPath(new URL('../../artifacts/e2e/', import.meta.url))

export async function launchBrowser(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH })
  t.after(() => browser.close())
  return browser
}

export interface WatchedPage {
  page: Page
  /** Every URL requested from a host other than 127.0.0.1. */
  foreignRequests: string[]
  dialogs: string[]
  pageErrors: string[]
  /** Content-Security-Policy violations the page reported (blocked URIs). */
  cspViolations(): Promise<string[]>
  /** Saves a full-page screenshot as artifacts/e2e/<suite>/<NN-step>.png. */
  screenshot(step: string): Promise<void>
}

// Steps are numbered per suite across its pages, so the screenshots read in the order they happened.
const stepsTaken = new Map<string, number>()

export interface PageOptions {
  viewport?: { width: number; height: number }
  /** The OS theme the page sees (prefers-color-scheme). */
  colorScheme?: 'light' | 'dark'
}

export async function openPage(browser: Browser, url: string, suite: string, who: string, options: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 800 }, colorScheme: options.colorScheme ?? 'light' })
  const page = await context.newPage()
  page.setDefaultTimeout(30_000)
  const foreignRequests: string[] = []
  const dialogs: string[] = []
  const pageErrors: string[] = []
  page.on('request', (request) => {
    const requested = new URL(request.url())
    if (requested.protocol === 'blob:' || requested.protocol === 'data:') return
    if (requested.hostname !== '127.0.0.1') foreignRequests.push(request.url())
  })
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    void dialog.dismiss()
  })
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.addInitScript(
    "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.blockedURI + ' ' + e.violatedDirective))",
  )
  await page.goto(url)
  const directory = path.join(artifactsRoot, suite)
  // Each run's screenshots replace the last run's, so the folder tells one story.
  if (!stepsTaken.has(suite)) {
    stepsTaken.set(suite, 0)
    await rm(directory, { recursive: true, force: true })
  }
  await mkdir(directory, { recursive: true })
  return {
    page,
    foreignRequests,
    dialogs,
    pageErrors,
    cspViolations: async () => (await page.evaluate('window.__cspViolations')) as string[],
    async screenshot(name) {
      const step = (stepsTaken.get(suite) ?? 0) + 1
      stepsTaken.set(suite, step)
      await page.screenshot({ path: path.join(directory, `${String(step).padStart(2, '0')}-${who}-${name}.png`), fullPage: true })
    },
  }
}

/** What every e2e test asserts of each page at its end: nothing foreign requested, no dialog, no page error, no CSP violation. */
export async function assertStayedLocal(watched: WatchedPage): Promise<void> {
  assert.deepEqual(watched.foreignRequests, [], 'no request leaves 127.0.0.1')
  assert.deepEqual(watched.dialogs, [])
  assert.deepEqual(watched.pageErrors, [])
  assert.deepEqual(await watched.cspViolations(), [])
}
