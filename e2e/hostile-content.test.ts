// Hostile posts replicated from another real peer render inert in the renderer: shown as text,
// with no script run, no dialog, no style escaping the post, and no request leaving 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connectLocal } from '@hearsay/network'
import { launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { follow, goTo, onboard, profileHash, waitForHomePost } from './helpers/app.ts'

const FOREIGN = 'http://198.51.100.7' // TEST-NET-2: nothing should ever try to reach it

const hostilePosts = [
  'HOSTILE-1 <script>window.__pwned = 1; alert(1)</script>',
  `HOSTILE-2 [click me](javascript:window.__pwned=2) [data](data:text/html,<script>alert(2)</script>) <a href="javascript:alert(3)">raw link</a> [vb](vbscript:msgbox(1))`,
  'HOSTILE-3 <img src=x onerror="window.__pwned=3;alert(3)"> <div onmouseover="alert(4)" style="position:fixed;inset:0;z-index:9999;background:red">cover</div>',
  `HOSTILE-4 ![tracker](${FOREIGN}/pixel.png) ![tracker2](https://evil.example/x.png) ![proto](//evil.example/y.png) ![data](data:image/png;base64,iVBORw0KGgo=)`,
  `HOSTILE-5 <style>body { display: none }</style><link rel="stylesheet" href="${FOREIGN}/x.css"><iframe src="${FOREIGN}/"></iframe>`,
  `HOSTILE-6 <svg onload="alert(5)"></svg><meta http-equiv="refresh" content="0;url=${FOREIGN}/"> <object data="${FOREIGN}/x.swf"></object>`,
  `HOSTILE-7 [tag](#x" onclick="alert(6)) [[nested](${FOREIGN})](javascript:alert(7)) <form action="${FOREIGN}"><button>go</button></form>`,
  `HOSTILE-8 ${'W'.repeat(7000)}`,
]
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
  for (const text of hostilePosts) await waitForHomePost(page, text.slice(0, 'HOSTILE-n'.length))
  await watched.screenshot('home')

  // Shown, as text.
  await page.getByText('<script>window.__pwned = 1; alert(1)</script>').waitFor()
  await page.getByText('<style>body { display: none }</style>', { exact: false }).waitFor()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()

  // Poke at everything that looks interactive inside the posts.
  await page.locator('.inert-link', { hasText: 'click me' }).click()
  await page.locator('.markdown').first().hover()

  const report = (await page.evaluate(`(() => {
    const inPosts = (selector) => [...document.querySelectorAll('.markdown')].flatMap((post) => [...post.querySelectorAll(selector)])
    return {
      pwned: window.__pwned ?? null,
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
