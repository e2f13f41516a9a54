// Connections and Settings in the renderer, with real `hearsay start --web 0` peers on 127.0.0.1
// in Debian's Chromium. Alice connects to Bob by his address, sees him connected (kind manual),
// follows him and fetches his feed, sees what her storage holds, disconnects, blocks him and
// reclaims his messages' space; her theme choice outlives a reload. Bad input: a malformed
// address is refused with a clear error. Screenshots: artifacts/e2e/connections-settings/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertStayedLocal, launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { follow, goTo, onboard, profileHash } from './helpers/app.ts'

const SUITE = 'connections-settings'

test('connect by address, see and disconnect the peer; storage figures; block and reclaim; theme', async (t) => {
  const alicePeer = await startPeer(t, { web: true })
  const bobPeer = await startPeer(t, { web: true })
  const browser = await launchBrowser(t)
  const alice = await openPage(browser, alicePeer.web!, SUITE, 'alice')
  const bob = await openPage(browser, bobPeer.web!, SUITE, 'bob')
  await onboard(alice.page, 'Alice')
  await onboard(bob.page, 'Bob')
  const bobsPost = 'Bob writes something Alice will reclaim'
  await bob.page.getByRole('textbox', { name: 'Write a post' }).fill(bobsPost)
  await bob.page.getByRole('button', { name: 'Post', exact: true }).click()
  await bob.page.getByRole('article').filter({ hasText: bobsPost }).waitFor()

  const { page } = alice
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click()
  await page.getByText('No peer is connected.').waitFor()
  const addressField = page.getByLabel('Peer address (net:host:port~shs:key) or invite code')
  await addressField.fill('net:127.0.0.1:1~shs:not-a-key')
  await page.getByRole('button', { name: 'Connect', exact: true }).click()
  const refusal = page.getByRole('form', { name: 'Connect to a peer' }).getByRole('alert')
  await refusal.waitFor()
  assert.match(await refusal.innerText(), /could not connect to net:127\.0\.0\.1:1~shs:not-a-key/)
  await alice.screenshot('malformed-address-refused')

  await addressField.fill(bobPeer.address)
  await page.getByRole('button', { name: 'Connect', exact: true }).click()
  const connectedBob = page.getByRole('region', { name: 'Connected peers' }).getByRole('listitem')
  await connectedBob.filter({ hasText: bobPeer.address }).waitFor()
  assert.match(await connectedBob.first().innerText(), /manual/)
  await alice.screenshot('connected-to-bob')

  await follow(page, bobPeer.id)
  await alicePeer.lineWhere((line) => line.event === 'replicated' && line.feed === bobPeer.id && Number(line.sequence) >= 2)
  await goTo(page, '#/settings')
  const storage = page.getByRole('region', { name: 'Storage' })
  const bobInTop = storage.getByRole('list', { name: 'Largest feeds' }).getByRole('listitem').filter({ hasText: 'Bob' })
  await bobInTop.filter({ hasText: '2 messages' }).waitFor()
  assert.match(await storage.getByRole('definition').first().innerText(), /\d+ messages · [\d.]+ (B|KB|MB)/)
  await alice.screenshot('storage-figures')

  await goTo(page, '#/connections')
  await connectedBob.filter({ hasText: bobPeer.address }).getByRole('button', { name: 'Disconnect' }).click()
  await page.getByText('No peer is connected.').waitFor()
  await alice.screenshot('disconnected')

  await goTo(page, profileHash(bobPeer.id))
  await page.getByRole('button', { name: 'Block' }).click()
  await page.getByRole('button', { name: 'Unblock' }).waitFor()
  await goTo(page, '#/settings')
  await storage.getByText('the 1 blocked feed still stored').waitFor()
  await storage.getByRole('button', { name: 'Reclaim space' }).click()
  await storage.getByRole('status').filter({ hasText: 'Removed 2 messages of 1 blocked feed' }).waitFor()
  await storage.getByText('the 0 blocked feeds still stored').waitFor()
  assert.equal(await bobInTop.count(), 0, 'Bob is gone from the largest feeds')
  await alice.screenshot('reclaimed')
  await goTo(page, profileHash(bobPeer.id))
  await page.getByRole('button', { name: 'Unblock' }).waitFor()
  assert.equal(await page.getByRole('article').filter({ hasText: bobsPost }).count(), 0, "Bob's post is gone")

  await goTo(page, '#/settings')
  await page.getByRole('radio', { name: 'Dark' }).check()
  assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark')
  await page.reload()
  await page.getByRole('radio', { name: 'Dark' }).waitFor()
  assert.equal(await page.getByRole('radio', { name: 'Dark' }).isChecked(), true)
  assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark')
  assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(17, 20, 24)')
  await alice.screenshot('dark-theme')

  for (const watched of [alice, bob]) await assertStayedLocal(watched)
})
