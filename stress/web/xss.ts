// The XSS corpus published from one real peer, replicated into another, and read in Chromium on
// every page a post reaches. On each page, every post is inspected in place: only the elements
// and attributes markdown may make, links only into the app or to http(s), images only from the
// local blob store, and the payload's own text shown as text. No payload may run (a canary and
// a dialog listener), and no request may leave 127.0.0.1.
import fc from 'fast-check'
import type { Page } from 'playwright-core'
import { connectLocal, type LocalClient } from '@hearsay/network'
import type { WatchedPage } from '../../e2e/helpers/browser.ts'
import type { RunningPeer } from '../../e2e/helpers/peer.ts'
import { follow, goTo, onboard, profileHash } from '../../e2e/helpers/app.ts'
import { FOREIGN, xssCorpus, xssPostText, xssProfiles, type XssPayload } from '../../e2e/helpers/xss-corpus.ts'
import { stressSeed, type StressMode, type StressRow } from '../harness.ts'

/** Largest private payload: box1 base64 grows the content by a third, and a message is at most 8192 characters. */
const MAX_PRIVATE_CONTENT = 5000
/** How long replication into the viewer may take before the row fails. */
const REPLICATION_TIMEOUT_MS = 60_000
/** The notifications page shows this many, newest first. */
const NOTIFICATIONS_SHOWN = 50

interface Published {
  key: string
  value: { sequence: number }
}

/** Posts stitched at random from the pieces XSS is made of, beside the hand-written corpus. */
const GENERATED = { quick: 20, full: 100 } as const

const PIECES = [
  '<script>', '</script>', '<img src=x onerror=', '<svg onload=', '<iframe src=', '<a href=', '<style>', '</style>', '<div style="', '"', "'", '>', '<',
  '[', ']', '(', ')', '![', '](', 'javascript:', 'JaVaScRiPt&#58;', 'java\tscript:', 'data:text/html,', 'vbscript:', 'file:///etc/passwd', `${FOREIGN}/g`,
  '//evil.example/', '&#x3C;', '&lt;', '&gt;', '&amp;', '&#106;', '`', '```', '*', '_', '~~', '#', '#tag', '> ', '\n', '\n\n', '- ', '1. ', '| a |', '|:-:|',
  '@', '%', '&', '.ed25519', '.sha256', '=', '\\', '{{', '}}', '${', '\u202E', '\u200B', '\u0000', ' ', 'position:fixed;inset:0', 'url(', 'expression(',
  'window.xssCanary=0', 'alert(0)', 'onmouseover=', 'onerror=', 'srcdoc=', '<!--', '-->', '<![CDATA[', ']]>', '<math>', '<mglyph>', '<noscript>', '<template>',
]

/** Seeded, so a failing post is replayed with the seed the run printed. */
function generatedPayloads(count: number, seed: number): XssPayload[] {
  const texts = fc.sample(fc.array(fc.constantFrom(...PIECES), { minLength: 4, maxLength: 80 }).map((pieces) => pieces.join('')), { seed, numRuns: count })
  return texts.map((text, index) => ({ marker: `XSS-${String(xssCorpus.length + index + 1).padStart(3, '0')}`, kind: `generated (seed ${seed})`, text, shows: [] }))
}

/** Per surface: which markers were seen, and what was wrong with each. */
type Findings = Record<string, string[]>

// Plain JavaScript run in the page (a string, so nothing the TypeScript compiler adds reaches it).
const INSPECT_POSTS = `(({ expected, origin }) => {
  const normal = (text) => text.replace(/\\s+/g, ' ').trim()
  const ALLOWED = new Set(['P', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'EM', 'STRONG', 'S',
    'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'A', 'SPAN', 'CODE', 'PRE', 'BR', 'HR', 'IMG'])
  const ATTRIBUTES = new Set(['href', 'target', 'rel', 'class', 'src', 'alt', 'loading', 'start', 'style'])
  const SAFE_HREF = /^(#\\/(profile|thread|tag)\\/[^\\s"'<>]+|\\/blobs\\/[^\\s"'<>]+|https?:\\/\\/[^\\s"'<>]+|mailto:[^\\s"'<>]+)$/
  const found = {}
  for (const body of document.querySelectorAll('article .markdown, .profile-header .markdown')) {
    const text = normal(body.textContent)
    const marker = (/XSS-\\d{3}/.exec(text) || [body.closest('.profile-header') ? 'profile description' : 'unmarked'])[0]
    const problems = []
    for (const element of body.querySelectorAll('*')) {
      if (!ALLOWED.has(element.tagName)) problems.push('element ' + element.outerHTML.slice(0, 80))
      for (const attribute of element.attributes) {
        if (!ATTRIBUTES.has(attribute.name)) problems.push('attribute ' + attribute.name + '=' + attribute.value.slice(0, 40))
        if (attribute.name === 'style' && !/^text-align: (left|center|right);?$/.test(attribute.value)) problems.push('style ' + attribute.value.slice(0, 60))
      }
    }
    for (const link of body.querySelectorAll('a')) {
      const href = link.getAttribute('href') ?? ''
      if (!SAFE_HREF.test(href)) problems.push('href ' + href.slice(0, 80))
    }
    for (const image of body.querySelectorAll('img')) {
      if (!image.src.startsWith(origin + '/blobs/')) problems.push('image ' + image.src.slice(0, 80))
    }
    for (const shown of expected[marker] ?? []) {
      if (!text.includes(normal(shown))) problems.push('not shown as text: ' + JSON.stringify(normal(shown).slice(0, 60)))
    }
    found[marker] = [...(found[marker] ?? []), ...problems]
  }
  return found
})`

/** One-line previews (notifications, the inbox): text and links only. */
const INSPECT_PREVIEWS = `((selector) => {
  const found = {}
  for (const item of document.querySelectorAll(selector)) {
    const marker = (/XSS-\\d{3}/.exec(item.textContent) || ['unmarked'])[0]
    const problems = []
    for (const element of item.querySelectorAll('*')) {
      if (!['A', 'TIME', 'IMG', 'SPAN', 'P', 'STRONG', 'DIV'].includes(element.tagName)) problems.push('element ' + element.outerHTML.slice(0, 80))
      for (const attribute of element.attributes) if (attribute.name.startsWith('on')) problems.push('handler ' + attribute.name)
      if (element.tagName === 'A' && !/^#\\//.test(element.getAttribute('href') ?? '')) problems.push('href ' + element.getAttribute('href'))
      if (element.tagName === 'IMG' && !element.src.startsWith(location.origin + '/blobs/')) problems.push('image ' + element.src)
    }
    found[marker] = [...(found[marker] ?? []), ...problems]
  }
  return found
})`

/** What every page must hold to at any moment: nothing ran, nothing loaded from elsewhere. */
const PAGE_STATE = `(() => ({
  canary: window.xssCanary ?? null,
  images: [...document.images].map((image) => image.src).filter((src) => !src.startsWith(location.origin + '/') && !src.startsWith('blob:')),
  location: location.origin + location.pathname,
}))()`

const nextFrames = () => `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))`

export interface XssInputs {
  mode: StressMode
  mallory: RunningPeer
  viewer: RunningPeer
  watched: WatchedPage
  /** The secret of the viewer's web address: no request may carry it in a Referer. */
  secret: string
}

export async function checkXss({ mode, mallory, viewer, watched, secret }: XssInputs): Promise<StressRow> {
  const failures: string[] = []
  const surfaces: string[] = []
  let tried = 0
  const owner = await connectLocal(mallory.socket)
  const viewerClient = await connectLocal(viewer.socket)
  const { page } = watched
  const refererLeaks: string[] = []
  page.on('request', (request) => {
    const referer = request.headers().referer ?? ''
    if (referer.includes(secret)) refererLeaks.push(`${request.url()} ← ${referer}`)
  })
  // Loaded again with the listener in place, so the page's own first requests are seen too.
  await page.reload()
  const origin = new URL(viewer.web!).origin
  try {
    // Publish: a thread whose replies are the corpus (so home, profile, tag, search and the
    // thread page all show every payload), each mentioning the viewer (notifications), and in
    // full mode the corpus again as a private conversation with the viewer.
    const publish = (content: Record<string, unknown>) => owner.call<Published>('publish', content)
    let latest = await publish({ type: 'about', about: mallory.id, name: xssProfiles[0]!.name, description: xssProfiles[0]!.description, image: xssProfiles[0]!.image })
    const root = await publish({ type: 'post', text: 'XSS-000 the hostile corpus follows #xsscorpus' })
    const published: XssPayload[] = []
    for (const payload of [...xssCorpus, ...generatedPayloads(GENERATED[mode], stressSeed())]) {
      try {
        latest = await publish({ type: 'post', text: xssPostText(payload), root: root.key, branch: root.key, mentions: [{ link: viewer.id, name: 'Viewer' }] })
        published.push(payload)
      } catch (err) {
        failures.push(`${payload.marker} (${payload.kind}) could not be published: ${(err as Error).message}: ${JSON.stringify(payload.text).slice(0, 200)}`)
      }
    }
    let privateRoot: Published | null = null
    const privatePublished: XssPayload[] = []
    if (mode === 'full') {
      const recps = [mallory.id, viewer.id]
      privateRoot = await publish({ type: 'post', text: 'XSS-000 a private hostile corpus', recps })
      for (const payload of published) {
        const content = { type: 'post', text: xssPostText(payload), root: privateRoot.key, branch: privateRoot.key, recps }
        if (JSON.stringify(content).length > MAX_PRIVATE_CONTENT) continue
        latest = await publish(content)
        privatePublished.push(payload)
      }
    }
    await arrival(viewerClient, mallory.id, latest.value.sequence)

    await onboard(page, 'Viewer')
    await follow(page, mallory.id)
    const expected = Object.fromEntries(published.map((payload) => [payload.marker, payload.shows]))
    const byMarker = new Map(published.map((payload) => [payload.marker, payload]))
    /** A failure line names the payload, and for a generated one shows it, to replay. */
    const describe = (marker: string) => {
      const payload = byMarker.get(marker)
      if (!payload) return marker
      return payload.shows.length === 0 && payload.kind.startsWith('generated') ? `${marker} (${payload.kind}: ${JSON.stringify(payload.text).slice(0, 160)})` : `${marker} (${payload.kind})`
    }
    const markers = published.map((payload) => payload.marker)

    const check = async (surface: string, findings: Findings, wanted: readonly string[]) => {
      let seen = 0
      for (const marker of wanted) {
        const problems = findings[marker]
        if (problems === undefined) failures.push(`${surface}: ${describe(marker)} never shown`)
        else {
          seen++
          for (const problem of problems) failures.push(`${surface}: ${describe(marker)} ${problem}`)
        }
      }
      tried += seen
      surfaces.push(`${surface} ${seen}`)
      for (const [marker, problems] of Object.entries(findings)) {
        if (!wanted.includes(marker)) for (const problem of problems) failures.push(`${surface}: ${describe(marker)} ${problem}`)
      }
      await checkPageState(surface)
    }
    const checkPageState = async (surface: string) => {
      const state = (await page.evaluate(PAGE_STATE)) as { canary: unknown; images: string[]; location: string }
      if (state.canary !== null) failures.push(`${surface}: a payload ran (window.xssCanary = ${JSON.stringify(state.canary)})`)
      for (const src of state.images) failures.push(`${surface}: an image from outside the local store: ${src}`)
      if (state.location !== `${origin}/`) failures.push(`${surface}: the page left the app, to ${state.location}`)
      failures.push(...drain(watched.dialogs).map((dialog) => `${surface}: a dialog opened (${dialog})`))
      failures.push(...drain(watched.pageErrors).map((error) => `${surface}: page error ${error}`))
      failures.push(...drain(watched.foreignRequests).map((url) => `${surface}: a request left 127.0.0.1: ${url}`))
      failures.push(...drain(refererLeaks).map((leak) => `${surface}: the secret leaked in a Referer: ${leak}`))
      const violations = (await page.evaluate('window.__cspViolations.splice(0)')) as string[]
      failures.push(...violations.map((violation) => `${surface}: the renderer tried to load something the CSP blocked: ${violation}`))
    }

    // The thread: every reply on one page.
    await goTo(page, `#/thread/${encodeURIComponent(root.key)}`)
    await page.locator('article', { hasText: markers.at(-1)! }).waitFor()
    await check('thread', await inspectPosts(page, expected, origin), markers)

    await goTo(page, '#/')
    await check('home', await scanFeed(page, expected, origin, markers), markers)
    if (mode === 'full') {
      await goTo(page, '#/tag/xsscorpus')
      await check('tag', await scanFeed(page, expected, origin, markers), markers)

      await goTo(page, '#/search')
      await page.getByRole('searchbox', { name: 'Search posts, people and hashtags' }).fill('xsscorpus')
      await check('search', await scanFeed(page, expected, origin, markers), markers)

      await goTo(page, '#/notifications')
      await page.getByRole('list', { name: 'Notifications' }).waitFor()
      await check('notifications', (await page.evaluate(`${INSPECT_PREVIEWS}('li.notification')`)) as Findings, markers.slice(-NOTIFICATIONS_SHOWN))

      if (privateRoot) {
        const privateMarkers = privatePublished.map((payload) => payload.marker)
        await goTo(page, '#/messages')
        await page.getByRole('list', { name: 'Conversations' }).waitFor()
        await check('messages inbox', (await page.evaluate(`${INSPECT_PREVIEWS}('li.conversation')`)) as Findings, privateMarkers.slice(-1))
        await goTo(page, `#/messages/${encodeURIComponent(privateRoot.key)}`)
        await page.locator('article', { hasText: privateMarkers.at(-1)! }).waitFor()
        await check('private conversation', await inspectPosts(page, expected, origin), privateMarkers)
      }

      // The profile: its posts, then each hostile name, description and image in turn.
      await goTo(page, profileHash(mallory.id))
      await check('profile posts', await scanFeed(page, expected, origin, markers), markers)
      for (const [index, profile] of xssProfiles.entries()) {
        if (index > 0) {
          const changed = await publish({ type: 'about', about: mallory.id, name: profile.name, description: profile.description, image: profile.image })
          await arrival(viewerClient, mallory.id, changed.value.sequence)
          // Away and back, so the profile page loads the new about afresh.
          await goTo(page, '#/')
          await page.locator('.profile-header').waitFor({ state: 'detached' })
          await goTo(page, profileHash(mallory.id))
        }
        await checkProfile(page, profile, origin, failures)
        tried++
        await checkPageState(`profile ${profile.marker}`)
      }
      surfaces.push(`profiles ${xssProfiles.length}`)
    }
  } finally {
    await owner.close()
    await viewerClient.close()
  }
  return {
    target: 'web: XSS corpus in Chromium',
    tried,
    unit: 'payloads × surfaces',
    detail: `${xssCorpus.length} payloads + ${GENERATED[mode]} generated (seed ${stressSeed()}) · ${surfaces.join(', ')}`,
    failures,
  }
}

/** Takes every entry out of a watched list, so each surface reports only its own. */
function drain(list: string[]): string[] {
  return list.splice(0)
}

async function inspectPosts(page: Page, expected: Record<string, string[]>, origin: string): Promise<Findings> {
  return (await page.evaluate(`${INSPECT_POSTS}(${JSON.stringify({ expected, origin })})`)) as Findings
}

/** Scrolls a virtualised feed top to bottom, inspecting the posts in the DOM at each step. */
async function scanFeed(page: Page, expected: Record<string, string[]>, origin: string, wanted: readonly string[]): Promise<Findings> {
  const findings: Findings = {}
  const feed = page.locator('.feed-scroller section[aria-busy="false"]')
  await page.locator('article', { hasText: 'XSS-' }).first().waitFor()
  let stuck = 0
  while (stuck < 3) {
    await feed.waitFor()
    for (const [marker, problems] of Object.entries(await inspectPosts(page, expected, origin))) findings[marker] = [...new Set([...(findings[marker] ?? []), ...problems])]
    if (wanted.every((marker) => findings[marker] !== undefined)) break
    const moved = (await page.evaluate(`(async () => {
      const scroller = document.querySelector('.feed-scroller')
      const before = scroller.scrollTop
      scroller.scrollTop = before + scroller.clientHeight * 0.8
      await ${nextFrames()}
      return scroller.scrollTop !== before
    })()`)) as boolean
    stuck = moved ? 0 : stuck + 1
  }
  return findings
}

/** The profile header shows a hostile name and description as text, and no image from elsewhere. */
async function checkProfile(page: Page, profile: (typeof xssProfiles)[number], origin: string, failures: string[]): Promise<void> {
  const heading = page.locator('.profile-header h1')
  await heading.waitFor()
  const name = profile.name.replace(/\s+/g, ' ').trim()
  const shown = ((await heading.textContent()) ?? '').replace(/\s+/g, ' ').trim()
  if (shown !== name) failures.push(`profile ${profile.marker}: the name ${JSON.stringify(name.slice(0, 60))} is not shown as the heading (shown: ${JSON.stringify(shown.slice(0, 60))})`)
  if ((await heading.locator('*').count()) > 0) failures.push(`profile ${profile.marker}: the name became markup: ${await heading.innerHTML()}`)
  const findings = (await page.evaluate(`${INSPECT_POSTS}(${JSON.stringify({ expected: {}, origin })})`)) as Findings
  for (const problem of findings['profile description'] ?? []) failures.push(`profile ${profile.marker} description: ${problem}`)
}

/** Resolves once the viewer's peer holds `feed` up to `sequence` (a live history stream, not polling). */
async function arrival(client: LocalClient, feed: string, sequence: number): Promise<void> {
  const source = client.source<unknown>('createHistoryStream', { id: feed, seq: sequence, live: true })
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        source(null, (end) => {
          if (end) reject(new Error(`the viewer's history stream of ${feed} ended before sequence ${sequence}: ${String(end)}`))
          else resolve()
        })
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`sequence ${sequence} of ${feed} did not replicate to the viewer within ${REPLICATION_TIMEOUT_MS / 1000} s`)), REPLICATION_TIMEOUT_MS)
      }),
    ])
  } finally {
    clearTimeout(timer)
    source(true, () => undefined)
  }
}
