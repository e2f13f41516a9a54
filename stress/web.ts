// The web stress suite: the renderer, the web bridge and the desktop window against hostile
// content, hostile pages and hostile local users. Two real peers on 127.0.0.1 (one publishing
// the XSS corpus, one serving the app in web mode) and one Chromium serve the first three rows;
// the secrets row runs the CLI and the peer on their own.
import { launchBrowser, openPage } from '../e2e/helpers/browser.ts'
import { startPeer, type Teardown } from '../e2e/helpers/peer.ts'
import type { StressMode, StressRow } from './harness.ts'
import { checkBridge } from './web/bridge.ts'
import { checkPolicies } from './web/csp.ts'
import { checkSecrets } from './web/secrets.ts'
import { checkXss } from './web/xss.ts'

export async function run(mode: StressMode): Promise<StressRow[]> {
  const cleanups: Array<() => unknown> = []
  const teardown: Teardown = { after: (cleanup) => cleanups.push(cleanup) }
  const rows: StressRow[] = []
  try {
    const mallory = await startPeer(teardown)
    const viewer = await startPeer(teardown, { web: true, peers: [mallory.address], replicate: [mallory.id] })
    const webUrl = viewer.web!
    const browser = await launchBrowser(teardown)
    const watched = await openPage(browser, webUrl, 'stress-web', 'viewer', { viewport: { width: 1000, height: 3000 } })
    const secret = new URL(webUrl).searchParams.get('secret')!

    rows.push(await guarded('web: XSS corpus in Chromium', 'payloads × surfaces', () => checkXss({ mode, mallory, viewer, watched, secret })))
    let answers: Awaited<ReturnType<typeof checkBridge>>['answers'] = []
    rows.push(
      await guarded('web: bridge vs DNS rebinding and other origins', 'requests', async () => {
        const checked = await checkBridge(webUrl)
        answers = checked.answers
        return checked.row
      }),
    )
    rows.push(await guarded('web: CSP and Electron window hardening', 'checks', () => checkPolicies(browser, webUrl, answers)))
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
  }
  rows.push(await guarded('web: secrets stay in the secret file', 'bytes scanned', () => checkSecrets(mode)))
  return rows
}

/** A row whose check threw reports that as its failure (setup above throws, and fails the run). */
async function guarded(target: string, unit: string, check: () => Promise<StressRow>): Promise<StressRow> {
  try {
    return await check()
  } catch (err) {
    return { target, tried: 0, unit, detail: 'stopped early', failures: [`threw: ${(err as Error).stack ?? String(err)}`] }
  }
}
