// The renderer in Chromium against a peer holding the 100k fixture (imported as its main
// identity, whose home feed is the one shown): time from navigation to the first page of 50
// posts painted, frame times while scrolling through 1,000 posts of the virtualised feed, and the
// renderer's memory afterwards. Targets: first paint < 150 ms, no frame > 50 ms, < 150 MB.
// Prints figures; never asserts.
//
// `npm run bench -- renderer`, or standalone: `npx tsx bench/renderer.ts` (BENCH_FIXTURE=10k for
// a quick run). Needs the built renderer (`npm install` builds it) and /usr/bin/chromium.
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { mainSecretPath, messagesPath } from '@hearsay/test-fixtures'
import { launchBrowser, CHROMIUM_PATH } from '../e2e/helpers/browser.ts'
import { HEARSAY_BIN, startPeer, type Teardown } from '../e2e/helpers/peer.ts'
import { medianOf } from './harness.ts'

const FIXTURE = process.env.BENCH_FIXTURE === '10k' ? '10k' : '100k'
const POSTS_TO_SCROLL = 1000
/** Timed launches after the first (which warms the peer and Chromium's cache). */
const RELOADS = 7
const SCROLL_STEP_PX = 150
const TARGETS = { firstPaintMs: 150, frameMs: 50, memoryMb: 150 }

const run$ = promisify(execFile)

// Recorded from the page's own clock (ms since navigation started): when the API's WebSocket
// opened, when the first posts are in the DOM, then two animation frames later, by which time
// they have been painted. (Read by awaiting a promise: the page's CSP forbids the string
// evaluation waitForFunction polls with.)
const FIRST_PAINT_PROBE = `
  let apiOpen = Number.NaN
  const NativeWebSocket = window.WebSocket
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args)
      this.addEventListener('open', () => (apiOpen = performance.now()), { once: true })
    }
  }
  window.__firstPosts = new Promise((resolve) => {
    new MutationObserver((_, observer) => {
      if (!document.querySelector('.feed-row')) return
      observer.disconnect()
      const inDom = performance.now()
      requestAnimationFrame(() => requestAnimationFrame(() => resolve({ apiOpen, inDom, painted: performance.now() })))
    }).observe(document, { childList: true, subtree: true })
  })
`

interface FirstPaint {
  apiOpen: number
  inDom: number
  painted: number
}

// Scrolls the feed a step per frame until the 1,000th post has been shown (infinite scroll loads
// pages as it goes), timing every frame, and long animation frames as Chromium reports them.
const SCROLL = `(async () => {
  const scroller = document.querySelector('.feed-scroller')
  const lastIndex = () => Math.max(-1, ...[...document.querySelectorAll('.feed-row')].map((row) => Number(row.dataset.index)))
  const longFrames = []
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) longFrames.push(entry.duration) })
    .observe({ type: 'long-animation-frame', buffered: false })
  const frames = []
  const giveUpAt = performance.now() + 180000
  let stalled = 0
  let last = performance.now()
  while (lastIndex() < ${POSTS_TO_SCROLL - 1} && performance.now() < giveUpAt && stalled < 600) {
    await new Promise((resolve) => requestAnimationFrame(resolve))
    const now = performance.now()
    frames.push(now - last)
    last = now
    const before = scroller.scrollTop
    scroller.scrollTop += ${SCROLL_STEP_PX}
    stalled = scroller.scrollTop === before ? stalled + 1 : 0
  }
  return { frames, longFrames, reached: lastIndex() + 1, inDom: document.querySelectorAll('.feed-row').length }
})()`

export async function run(): Promise<void> {
  const cleanups: Array<() => unknown> = []
  const teardown: Teardown = { after: (cleanup) => cleanups.push(cleanup) }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hearsay-bench-renderer-'))
  try {
    const t0 = performance.now()
    await run$(process.execPath, [HEARSAY_BIN, 'init', '--secret', mainSecretPath(FIXTURE), '--data', dataDir])
    await run$(process.execPath, [HEARSAY_BIN, 'import', messagesPath(FIXTURE), '--quiet', '--data', dataDir], { maxBuffer: 64 * 1024 * 1024 })
    console.log(`${FIXTURE} fixture imported as its main identity in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup, not measured)`)

    const peer = await startPeer(teardown, { web: true, dataDir })
    const browser = await launchBrowser(teardown)
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } })
    const page = await context.newPage()
    await page.addInitScript(FIRST_PAINT_PROBE)

    // How long the peer takes to answer each call (seen from Node, frames in and out of the page),
    // and how many calls it has yet to answer.
    const answerMs = new Map<string, number[]>()
    const unanswered = new Set<Map<number, unknown>>()
    const answeredAll = new Set<() => void>()
    page.on('websocket', (socket) => {
      const sent = new Map<number, { method: string; at: number }>()
      unanswered.add(sent)
      const settle = () => {
        if ([...unanswered].every((calls) => calls.size === 0)) for (const wake of answeredAll) wake()
      }
      socket.on('close', () => {
        unanswered.delete(sent)
        settle()
      })
      socket.on('framesent', (frame) => {
        const request = JSON.parse(String(frame.payload)) as { type: string; id: number; method?: string }
        if (request.type === 'call' && request.method) sent.set(request.id, { method: request.method, at: performance.now() })
      })
      socket.on('framereceived', (frame) => {
        const response = JSON.parse(String(frame.payload)) as { id: number }
        const request = sent.get(response.id)
        if (!request) return
        sent.delete(response.id)
        answerMs.set(request.method, [...(answerMs.get(request.method) ?? []), performance.now() - request.at])
        settle()
      })
    })
    // A launch starts with the peer idle, not still answering the calls the page made after its
    // first posts last time (unread counts and the like).
    const peerIdle = () =>
      new Promise<void>((resolve) => {
        const wake = () => {
          answeredAll.delete(wake)
          resolve()
        }
        answeredAll.add(wake)
        if ([...unanswered].every((calls) => calls.size === 0)) wake()
      })

    // A first visit warms the peer's caches and Chromium's, as a second launch of the app would be.
    await page.goto(peer.web!)
    await page.evaluate('window.__firstPosts')
    const paints: FirstPaint[] = []
    for (let i = 0; i < RELOADS; i++) {
      await peerIdle()
      await page.reload()
      paints.push((await page.evaluate('window.__firstPosts')) as FirstPaint)
    }
    const byPaint = [...paints].sort((a, b) => a.painted - b.painted)
    const median = byPaint[Math.floor(byPaint.length / 2)]!
    const loading = (await page.evaluate(`(() => {
      const navigation = performance.getEntriesByType('navigation')[0]
      const script = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith('.js'))
      return {
        html: navigation.responseEnd,
        script: script ? script.responseEnd : 0,
        scriptBytes: script ? script.transferSize : 0,
        domReady: navigation.domContentLoadedEventEnd,
      }
    })()`)) as { html: number; script: number; scriptBytes: number; domReady: number }
    console.log(
      `first page of 50 posts painted: median ${median.painted.toFixed(0)} ms after navigation ` +
        `(runs ${byPaint.map((p) => p.painted.toFixed(0)).join(', ')} ms) · target < ${TARGETS.firstPaintMs} ms → ` +
        `${(median.painted / TARGETS.firstPaintMs).toFixed(2)}× the budget\n` +
        `  last run: HTML ${loading.html.toFixed(0)} ms, script ${loading.script.toFixed(0)} ms ` +
        `(${loading.scriptBytes === 0 ? 'from the cache' : `${(loading.scriptBytes / 1024).toFixed(0)} KB downloaded`}), DOM ready ${loading.domReady.toFixed(0)} ms; ` +
        `median run: API connected at ${median.apiOpen.toFixed(0)} ms, posts in the DOM at ${median.inDom.toFixed(0)} ms; the peer answered ` +
        ['setup', 'homeFeed'].map((method) => `${method} in ${medianOf(answerMs.get(method) ?? []).toFixed(0)} ms`).join(', ') + ' (medians)',
    )

    const scroll = (await page.evaluate(SCROLL)) as { frames: number[]; longFrames: number[]; reached: number; inDom: number }
    const frames = scroll.frames.slice(1).sort((a, b) => a - b)
    const pct = (q: number) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))] ?? 0
    const worst = frames[frames.length - 1] ?? 0
    const over = frames.filter((ms) => ms > TARGETS.frameMs).length
    console.log(
      `scrolling ${scroll.reached} posts (${SCROLL_STEP_PX} px a frame, pages loading as it goes): ${frames.length} frames, ` +
        `median ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms, worst ${worst.toFixed(1)} ms; ` +
        `${over} frame${over === 1 ? '' : 's'} over ${TARGETS.frameMs} ms; ` +
        `${scroll.longFrames.length} long animation frames reported (worst ${Math.max(0, ...scroll.longFrames).toFixed(0)} ms); ` +
        `${scroll.inDom} posts in the DOM at the end`,
    )
    if (scroll.reached < POSTS_TO_SCROLL) console.log(`  (the home feed ended at ${scroll.reached} posts)`)

    const session = await context.newCDPSession(page)
    await session.send('HeapProfiler.collectGarbage')
    await session.send('Performance.enable')
    const { metrics } = await session.send('Performance.getMetrics')
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0
    const heapMb = metric('JSHeapUsedSize') / 2 ** 20
    const renderers = rendererMemory(process.pid)
    const rendererMb = renderers.pss / 2 ** 20
    console.log(
      `renderer memory after the scroll: JS heap ${heapMb.toFixed(1)} MB used of ${(metric('JSHeapTotalSize') / 2 ** 20).toFixed(1)} MB, ` +
        `${metric('Nodes')} DOM nodes; renderer process${renderers.count === 1 ? '' : `es (${renderers.count})`} ` +
        `${rendererMb > 0 ? `${rendererMb.toFixed(0)} MB proportional (PSS; ${(renderers.rss / 2 ** 20).toFixed(0)} MB RSS counting shared libraries whole)` : 'unavailable'} · ` +
        `target < ${TARGETS.memoryMb} MB → ${((rendererMb || heapMb) / TARGETS.memoryMb).toFixed(2)}× the budget`,
    )
    console.log(`(${CHROMIUM_PATH} headless, ${FIXTURE} fixture)`)
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/**
 * Memory of the Chromium renderer processes this process started (Linux /proc), in bytes: PSS
 * shares pages used by several processes (Chromium's libraries) among them; RSS counts them whole.
 */
function rendererMemory(ancestorPid: number): { pss: number; rss: number; count: number } {
  const total = { pss: 0, rss: 0, count: 0 }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (!cmdline.includes('--type=renderer') || !isDescendant(Number(entry), ancestorPid)) continue
      const rollup = readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8')
      total.pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024
      total.rss += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024
      total.count++
    } catch {
      // The process ended while being read.
    }
  }
  return total
}

function isDescendant(pid: number, ancestor: number): boolean {
  for (let current = pid, hops = 0; current > 1 && hops < 20; hops++) {
    if (current === ancestor) return true
    const stat = readFileSync(`/proc/${current}/stat`, 'utf8')
    current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  }
  return false
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
