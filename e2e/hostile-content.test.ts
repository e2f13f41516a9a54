// Hostile posts replicated from another real peer render inert in the renderer: shown as text,
// with no script run, no dialog, no style escaping the post, and no request leaving 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connectLocal } from '@hearsay/network'
import { launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { follow, goTo, onboard, profileHash, waitForHomePost } from './helpers/app.ts'
import { FOREIGN, xssCorpus, xssPostText } from './helpers/xss-corpus.ts'

// A cross-section of the shared corpus (the web stress suite publishes all of it, on every page).
const kinds = [
  'script tag', 'img onerror', 'svg onload', 'div cover', 'style hides page', 'link stylesheet', 'iframe foreign', 'meta refresh foreign',
  'embed', 'form foreign', 'link javascript:', 'link data: html', 'link vbscript:', 'link attribute injection', 'image foreign http',
  'image foreign https', 'image protocol-relative', 'image data: image', 'nested link', 'named entities', 'very long',
]
const hostile = kinds.map((kind) => xssCorpus.find((payload) => payload.kind === kind)!)
const hostilePosts = hostile.map(xssPostText)
const payload = (kind: string) => hostile[kinds.indexOf(kind)]!
const hostileName = '<img src=x onerror="alert(9)">Mallory'

test('hostile posts from another peer render inert', async (t) => {
  const mallory = await startPeer(t)
  const owner = await connectLocal(mallory.socket)
  t.after(() => owner.close())
  await owner.call('publish', { type: 'about', about: mallory.id, name: hostileName, image: `${FOREIGN}/avatar.png` })
  for (const text of hostilePosts) await owner.call('publish', { type: 'post', text })

  const viewer = await startPeer(t, { web: true, peers: [mallory.address], replicate: [mallory.id] })
  const browser = await launchBrowser(t)
  const watched = await openPage(browser, viewer.web!, 'hostile', 'viewer', { viewport: { width: 1000, height: 6000 } })
  const { page } = watched
  await onboard(page, 'Viewer')
  await follow(page, mallory.id)
  await goTo(page, '#/')
  for (const { marker } of hostile) await waitForHomePost(page, marker)
  await watched.screenshot('home')

  // Shown, as text.
  for (const { marker, shows } of hostile) {
    for (const text of shows) await page.getByRole('article').filter({ hasText: marker }).getByText(text, { exact: false }).first().waitFor()
  }
  await page.getByRole('navigation', { name: 'Main' }).waitFor()

  // Poke at everything that looks interactive inside the posts.
  await page.locator('.inert-link', { hasText: payload('link javascript:').shows[0]! }).click()
  await page.locator('.markdown').first().hover()

  const report = (await page.evaluate(`(() => {
    const inPosts = (selector) => [...document.querySelectorAll('.markdown')].flatMap((post) => [...post.querySelectorAll(selector)])
    return {
      pwned: window.xssCanary ?? null,
      forbidden: inPosts('script, iframe, style, link, meta, object, embed, svg, form, div, input, button').map((e) => e.outerHTML.slice(0, 80)),
      hrefs: inPosts('a').map((a) => a.getAttribute('href')),
      images: [...document.images].map((img) => img.src),
      styled: inPosts('[style]').map((e) => e.tagName),
      handlers: inPosts('*').flatMap((e) => [...e.attributes].map((a) => a.name).filter((name) => name.startsWith('on'))),
      location: location.href,
    }
  })()`)) as { pwned: unknown; forbidden: string[]; hrefs: string[]; images: string[]; styled: string[]; handlers: string[]; location: string }

  assert.equal(report.pwned, null, 'no hostile script ran')
  assert.deepEqual(report.forbidden, [], 'no raw HTML element reached the DOM')
  assert.deepEqual(report.handlers, [], 'no event-handler attribute reached the DOM')
  assert.deepEqual(report.styled, [], 'no author-controlled style')
  for (const href of report.hrefs) assert.match(href, /^(#\/(profile|thread|tag)\/|\/blobs\/|https?:\/\/)/, `unsafe link ${href}`)
  const origin = new URL(viewer.web!).origin
  for (const src of report.images) assert.ok(src.startsWith(`${origin}/blobs/`) || src.startsWith('blob:'), `image from outside the local store: ${src}`)
  assert.ok(report.location.startsWith(origin), 'still on the app')

  // The hostile name is shown as a name, not markup.
  await goTo(page, profileHash(mallory.id))
  await page.getByRole('heading', { name: hostileName }).waitFor()
  await watched.screenshot('profile')

  assert.deepEqual(watched.dialogs, [], 'no dialog opened')
  assert.deepEqual(watched.pageErrors, [])
  assert.deepEqual(watched.foreignRequests, [], 'no request left 127.0.0.1')
  assert.deepEqual(await watched.cspViolations(), [], 'the renderer never tried to load anything foreign')
})
