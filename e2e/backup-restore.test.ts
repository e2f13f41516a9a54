// Key backup and restore in the renderer, with real `hearsay start` peers on 127.0.0.1 in
// Debian's Chromium. Alice copies her recovery phrase, her data directory is wiped, and she
// restores from the phrase: the app refuses to post until her feed comes back from a friend's
// peer, then posts at the next sequence (the friend sees no fork). Wrong phrases are refused
// (bad word, bad checksum, wrong length). Without any peer, the wait survives a restart and ends
// only when she confirms there is nothing to wait for. Screenshots: artifacts/e2e/restore/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { assertStayedLocal, launchBrowser, openPage, type WatchedPage } from './helpers/browser.ts'
import { startPeer, tempDir, type Teardown } from './helpers/peer.ts'
import { goTo, onboard } from './helpers/app.ts'

const require = createRequire(import.meta.url)
const mnemonic = require('ssb-keys-mnemonic') as { keysToWords(keys: object): string }
const ssbKeys = require('ssb-keys') as { generate(): { id: string } }

// Removed when the test ends, after the peers using it are gone.
async function tempDataDir(t: Teardown): Promise<string> {
  return path.join(await tempDir(t, 'hearsay-e2e-restore-'), 'data')
}

async function copyRecoveryPhrase(watched: WatchedPage): Promise<string> {
  await goTo(watched.page, '#/settings')
  await watched.page.getByRole('button', { name: 'Show recovery phrase' }).click()
  const phrase = await watched.page.getByLabel('Recovery phrase', { exact: true }).inputValue()
  assert.equal(phrase.split(' ').length, 24)
  return phrase
}

async function restoreWith(watched: WatchedPage, backup: string): Promise<void> {
  const { page } = watched
  await page.getByRole('button', { name: 'Use an existing SSB identity' }).click()
  await page.getByLabel(/Paste the contents of your SSB secret file/).fill(backup)
  await page.getByRole('button', { name: 'Use this identity' }).click()
}

test('backup phrase → wipe → restore: posting waits for the feed from a peer, then continues without a fork', async (t) => {
  const aliceDir = await tempDataDir(t)
  const friendDir = await tempDataDir(t)
  const before = await startPeer(t, { web: true, dataDir: aliceDir })
  const friend = await startPeer(t, { dataDir: friendDir, peers: [before.address], replicate: [before.id] })
  const browser = await launchBrowser(t)
  const first = await openPage(browser, before.web!, 'restore', 'alice-before')
  await onboard(first.page, 'Alice')
  const written = 'Written before the wipe'
  await first.page.getByRole('textbox', { name: 'Write a post' }).fill(written)
  await first.page.getByRole('button', { name: 'Post', exact: true }).click()
  await first.page.getByRole('article').filter({ hasText: written }).waitFor()
  // Her name (1) and her post (2) are on her friend's peer.
  await friend.lineWhere((line) => line.event === 'replicated' && line.feed === before.id && Number(line.sequence) >= 2)
  const phrase = await copyRecoveryPhrase(first)
  await first.screenshot('backup-phrase')
  await first.page.close()
  await friend.stop()
  await before.stop()
  await rm(aliceDir, { recursive: true, force: true })

  const after = await startPeer(t, { web: true, dataDir: aliceDir })
  assert.notEqual(after.id, before.id, 'the wiped directory started a new identity')
  const second = await openPage(browser, after.web!, 'restore', 'alice-after')
  const { page } = second
  const words = phrase.split(' ')
  const wrong: Array<[string, RegExp]> = [
    [words.slice(0, 20).join(' '), /24 words; this has 20/],
    [['zzzz', ...words.slice(1)].join(' '), /word 1 is not one of the recovery-phrase words/],
    [[words[1], words[0], ...words.slice(2)].join(' '), /do not check out/],
    ['{"curve":"ed25519","private":"broken"}', /secret file is corrupt/],
  ]
  await page.getByRole('button', { name: 'Use an existing SSB identity' }).click()
  const backupBox = page.getByLabel(/Paste the contents of your SSB secret file/)
  for (const [text, message] of wrong) {
    await backupBox.fill(text)
    await page.getByRole('button', { name: 'Use this identity' }).click()
    await page.getByRole('alert').filter({ hasText: message }).waitFor()
  }
  await second.screenshot('wrong-phrases-refused')
  await page.getByRole('button', { name: 'Back' }).click()
  await restoreWith(second, phrase)
  const notice = page.getByRole('status', { name: 'Restoring your feed' })
  await notice.getByText('Waiting for your feed before you can post.').waitFor()
  await notice.getByText('No peer has answered yet').waitFor()
  await second.screenshot('waiting-for-feed')

  // The friend's peer is back; she connects to it from the notice, and her feed returns with her name.
  const friendAgain = await startPeer(t, { dataDir: friendDir, replicate: [before.id] })
  await notice.getByLabel(/^Peer address/).fill(friendAgain.address)
  await notice.getByRole('button', { name: 'Connect' }).click()
  const nav = page.getByRole('navigation', { name: 'Main' })
  await nav.getByRole('link', { name: 'Alice' }).waitFor()
  assert.equal(await notice.count(), 0, 'the notice goes once the feed is back')
  await goTo(page, '#/')
  await page.getByRole('article').filter({ hasText: written }).waitFor()
  const next = 'Written after the restore'
  await page.getByRole('textbox', { name: 'Write a post' }).fill(next)
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  await page.getByRole('article').filter({ hasText: next }).waitFor()
  await second.screenshot('posted-after-restore')
  const replicated = await friendAgain.lineWhere((line) => line.event === 'replicated' && line.feed === before.id && line.sequence !== null && Number(line.sequence) >= 3)
  assert.equal(replicated.sequence, 3, 'the next sequence: the friend takes it as the continuation of her feed')
  await assertStayedLocal(second)
})

test('a restore with no peer reachable refuses to post, across a restart, until confirmed', async (t) => {
  const dataDir = await tempDataDir(t)
  const browser = await launchBrowser(t)
  // A phrase the reference (ssb-keys-mnemonic, as Manyverse) made for an identity that never posted.
  const keys = ssbKeys.generate()
  const phrase = mnemonic.keysToWords(keys)

  const lonely = await startPeer(t, { web: true, dataDir })
  const first = await openPage(browser, lonely.web!, 'restore', 'lonely')
  await restoreWith(first, phrase)
  const notice = first.page.getByRole('status', { name: 'Restoring your feed' })
  await notice.getByText('No peer has answered yet').waitFor()
  assert.equal(await first.page.getByLabel('Your name').count(), 0, 'no way to post while waiting')
  await first.page.close()
  await lonely.stop()

  const restarted = await startPeer(t, { web: true, dataDir })
  assert.equal(restarted.id, keys.id)
  const second = await openPage(browser, restarted.web!, 'restore', 'lonely-restarted')
  const { page } = second
  const stillWaiting = page.getByRole('status', { name: 'Restoring your feed' })
  await stillWaiting.getByText('Waiting for your feed before you can post.').waitFor()
  await second.screenshot('still-waiting-after-restart')
  await page.getByRole('button', { name: 'My feed has no earlier messages' }).click()
  await page.getByRole('button', { name: 'Yes, this identity has never posted' }).click()
  await page.getByLabel('Your name').fill('Dana')
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dana' }).waitFor()
  await page.getByRole('textbox', { name: 'Write a post' }).fill('My first post, after confirming')
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  await page.getByRole('article').filter({ hasText: 'My first post, after confirming' }).waitFor()
  await second.screenshot('confirmed-and-posted')
  await assertStayedLocal(second)
})
