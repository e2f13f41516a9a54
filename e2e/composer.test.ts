// The composer in Chromium against a real peer in web mode: @-mention autocomplete, markdown
// preview, a content warning, an image attachment, and the size meter stopping an oversize post.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { TINY_PNG, onboard } from './helpers/app.ts'

test('composer: mentions, preview, content warning, image, and the size limit', async (t) => {
  const peer = await startPeer(t, { web: true })
  const browser = await launchBrowser(t)
  const watched = await openPage(browser, peer.web!, 'composer', 'alice')
  const { page } = watched
  await onboard(page, 'Alice')
  const composer = page.getByRole('form', { name: 'New post' })
  const textbox = composer.getByRole('textbox', { name: 'Write a post' })

  // From the keyboard: the first stop skips to the content, whose first control is the composer.
  const focused = () => page.evaluate('[document.activeElement.tagName, document.activeElement.id, document.activeElement.textContent]')
  await page.keyboard.press('Tab')
  assert.deepEqual(await focused(), ['A', '', 'Skip to content'])
  await page.keyboard.press('Enter')
  assert.deepEqual((await focused() as string[]).slice(0, 2), ['MAIN', 'main'])
  await page.keyboard.press('Tab')
  assert.deepEqual(await focused(), ['BUTTON', '', 'Write'])

  // @-mention: suggestions from findPeople, picked with the keyboard.
  await textbox.pressSequentially('Notes to @Ali')
  const suggestions = composer.getByRole('listbox', { name: 'People to mention' })
  await suggestions.getByRole('option', { name: /Alice/ }).waitFor()
  await textbox.press('Enter')
  await suggestions.waitFor({ state: 'detached' })
  assert.equal(await textbox.inputValue(), `Notes to [@Alice](${peer.id}) `)
  await textbox.pressSequentially('on **markdown** and #testing')
  await watched.screenshot('mention-picked')

  await composer.getByRole('button', { name: 'Preview' }).click()
  const preview = composer.getByLabel('Preview')
  await preview.getByRole('link', { name: '@Alice' }).waitFor()
  assert.equal(await preview.locator('strong').textContent(), 'markdown')
  await watched.screenshot('preview')
  await composer.getByRole('button', { name: 'Write' }).click()

  await composer.getByRole('button', { name: 'CW' }).click()
  await composer.getByRole('textbox', { name: 'Content warning' }).fill('spoilers')
  await composer.getByLabel('Image file').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: TINY_PNG })
  await composer.getByRole('status').filter({ hasText: 'Attached pixel.png' }).waitFor()
  assert.match(await textbox.inputValue(), /!\[pixel\.png\]\(&[A-Za-z0-9+/]{43}=\.sha256\)\n$/)
  await composer.getByRole('button', { name: 'Post', exact: true }).click()

  const posted = page.getByRole('article').filter({ hasText: 'CW: spoilers' })
  await posted.waitFor()
  assert.equal(await posted.getByText('Notes to').count(), 0, 'hidden behind its warning')
  await posted.getByRole('button', { name: 'Show post' }).click()
  await posted.getByRole('link', { name: '#testing' }).waitFor()
  assert.match((await posted.getByRole('img', { name: 'pixel.png' }).getAttribute('src')) ?? '', /^\/blobs\/%26/)
  await watched.screenshot('posted-with-cw-and-image')

  // Its hashtag leads to the tag's page, which lists it.
  await posted.getByRole('link', { name: '#testing' }).click()
  await page.getByRole('heading', { name: '#testing' }).waitFor()
  await page.getByRole('region', { name: 'Posts tagged #testing' }).getByRole('article').filter({ hasText: 'CW: spoilers' }).waitFor()
  await watched.screenshot('tag-page')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click()

  // Past 90% of the limit the meter warns; past the limit it says by how much and posting stops.
  await textbox.fill('x'.repeat(7600))
  await composer.getByRole('status').filter({ hasText: /left before the 8192 limit/ }).waitFor()
  await textbox.fill('x'.repeat(8200))
  await composer.getByRole('alert').filter({ hasText: /Too long by \d+/ }).waitFor()
  assert.equal(await composer.getByRole('button', { name: 'Post', exact: true }).isDisabled(), true)
  await watched.screenshot('too-long')

  assert.deepEqual(watched.foreignRequests, [])
  assert.deepEqual(watched.pageErrors, [])

  // The peer going away is said plainly, with the retry it is waiting for.
  await peer.stop()
  await page.getByRole('status').filter({ hasText: /Lost the connection to your peer .*Retrying in \d+ s/ }).waitFor()
  await watched.screenshot('peer-gone')
})
