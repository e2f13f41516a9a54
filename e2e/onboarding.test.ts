// Onboarding with an existing identity: a secret file written by ssb-keys (the reference) is
// pasted into the renderer in web mode, a malformed one is refused with a clear message first,
// and the adopted identity then names itself and edits its profile.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { profileHash } from './helpers/app.ts'

const require = createRequire(import.meta.url)
const ssbKeys = require('ssb-keys') as { createSync(file: string): { id: string } }

test('adopting an existing SSB secret, then naming it and editing the profile', async (t) => {
  const keysDir = await mkdtemp(path.join(tmpdir(), 'hearsay-e2e-keys-'))
  t.after(() => rm(keysDir, { recursive: true, force: true }))
  const secretFile = path.join(keysDir, 'secret')
  const keys = ssbKeys.createSync(secretFile)
  const secretText = await readFile(secretFile, 'utf8')

  const peer = await startPeer(t, { web: true })
  assert.notEqual(peer.id, keys.id)
  const browser = await launchBrowser(t)
  // In the dark theme, as an OS set to dark mode asks for.
  const watched = await openPage(browser, peer.web!, 'onboarding', 'carol', { colorScheme: 'dark' })
  const { page } = watched
  assert.equal(await page.evaluate(`getComputedStyle(document.body).backgroundColor`), 'rgb(17, 20, 24)')

  await page.getByRole('button', { name: 'Use an existing SSB identity' }).click()
  const secretBox = page.getByLabel(/Paste the contents of your SSB secret file/)
  for (const garbage of ['not a secret', '{"curve":"ed25519","private":"AAAA.ed25519"}']) {
    await secretBox.fill(garbage)
    await page.getByRole('button', { name: 'Use this identity' }).click()
    await page.getByRole('alert').waitFor()
    assert.ok(await secretBox.isVisible(), 'a refused secret leaves the form open to try again')
  }
  await watched.screenshot('refused-garbage')

  await secretBox.fill(secretText)
  await page.getByRole('button', { name: 'Use this identity' }).click()
  // Fork protection: no peer has this feed, so posting waits until Carol says it never posted.
  await page.getByRole('status', { name: 'Restoring your feed' }).getByText('No peer has answered yet').waitFor()
  await watched.screenshot('restore-pending')
  await page.getByRole('button', { name: 'My feed has no earlier messages' }).click()
  await page.getByRole('button', { name: 'Yes, this identity has never posted' }).click()
  await page.getByLabel('Your name').fill('Carol')
  await watched.screenshot('adopted')
  await page.getByRole('button', { name: 'Continue' }).click()
  const myProfile = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Carol' })
  await myProfile.waitFor()
  assert.equal(await myProfile.getAttribute('href'), profileHash(keys.id), 'the app now runs as the adopted identity')

  await myProfile.click()
  await page.getByRole('heading', { name: 'Carol' }).waitFor()
  await page.getByText(keys.id).waitFor()
  await page.getByRole('button', { name: 'Edit profile' }).click()
  const editor = page.getByRole('form', { name: 'Edit profile' })
  await editor.getByLabel('Bio').fill('I grow **tomatoes** #gardening')
  await editor.getByRole('button', { name: 'Save' }).click()
  const header = page.getByRole('region', { name: 'Profile' })
  await header.locator('strong', { hasText: 'tomatoes' }).waitFor()
  assert.equal(await header.getByRole('link', { name: '#gardening' }).getAttribute('href'), '#/tag/gardening')
  await watched.screenshot('profile-edited')

  assert.deepEqual(watched.foreignRequests, [])
  assert.deepEqual(watched.pageErrors, [])
})
