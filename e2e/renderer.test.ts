// The renderer in web mode against two real peers on 127.0.0.1, in Debian's Chromium: a person's
// first day, from onboarding to blocking someone. Screenshots of each step: artifacts/e2e/social/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertStayedLocal, launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { TINY_PNG, follow, goTo, onboard, profileHash } from './helpers/app.ts'

test('onboarding, posting, replication, reply, like, follow and block across two peers', async (t) => {
  const alicePeer = await startPeer(t, { web: true })
  const bobPeer = await startPeer(t, { web: true, peers: [alicePeer.address] })
  const browser = await launchBrowser(t)
  const alice = await openPage(browser, alicePeer.web!, 'social', 'alice')
  const bob = await openPage(browser, bobPeer.web!, 'social', 'bob')

  await onboard(alice.page, 'Alice', TINY_PNG)
  await alice.screenshot('onboarded')
  await onboard(bob.page, 'Bob')
  await bob.screenshot('onboarded')

  await follow(bob.page, alicePeer.id)
  await bob.screenshot('follows-alice')
  // Bob dialled Alice (--peers): her status indicator counts him, and says how.
  await alice.page.getByRole('button', { name: /^Peer status: 1 peer/ }).click()
  await alice.page.getByRole('region', { name: 'Peer status details' }).getByText(/Replicating \d+ feeds/).waitFor()
  await alice.screenshot('status')
  await alice.page.getByRole('button', { name: /^Peer status/ }).click()

  // Bob reads his (still empty) home feed while Alice posts: her post arrives live and waits
  // behind the "new posts" bar instead of moving what he is reading.
  await goTo(bob.page, '#/')
  await bob.page.getByText('Nothing here yet.').waitFor()

  const greeting = 'Hello from Alice, my first post on #hearsay'
  await alice.page.getByRole('textbox', { name: 'Write a post' }).fill(greeting)
  await alice.page.getByRole('button', { name: 'Post', exact: true }).click()
  const greetingOnAlice = alice.page.getByRole('article').filter({ hasText: greeting })
  await greetingOnAlice.waitFor()
  // Her avatar is the blob she uploaded, served by her own peer.
  const avatar = greetingOnAlice.locator('img.avatar')
  assert.match((await avatar.getAttribute('src')) ?? '', /^\/blobs\/%26[^/]+\.sha256$/)
  const loadedWidth = await avatar.evaluate(async (element) => {
    const image = element as unknown as { decode(): Promise<void>; naturalWidth: number }
    await image.decode()
    return image.naturalWidth
  })
  assert.equal(loadedWidth, 1)
  await alice.screenshot('posted')

  const newPosts = bob.page.getByRole('button', { name: '1 new post' })
  await newPosts.waitFor()
  const greetingOnBob = bob.page.getByRole('article').filter({ hasText: greeting })
  assert.equal(await greetingOnBob.count(), 0, 'a live arrival waits behind the bar')
  await bob.screenshot('new-posts-bar')
  await newPosts.click()
  await greetingOnBob.waitFor()
  assert.equal(await greetingOnBob.getByRole('link', { name: 'Alice' }).count(), 1, 'Bob sees Alice by the name she chose')
  assert.equal(await greetingOnBob.getByRole('link', { name: '#hearsay' }).getAttribute('href'), '#/tag/hearsay')
  await bob.screenshot('sees-alice-post')

  await greetingOnBob.getByRole('link', { name: /^Reply/ }).click()
  const answer = 'Welcome, Alice! Bob here.'
  await bob.page.getByRole('textbox', { name: 'Write a reply' }).fill(answer)
  await bob.page.getByRole('button', { name: 'Reply', exact: true }).click()
  const bobsReply = bob.page.getByRole('region', { name: 'Replies' }).getByRole('article').filter({ hasText: answer })
  await bobsReply.waitFor()
  await bob.screenshot('replied')

  const rootOnBob = bob.page.getByRole('article').filter({ hasText: greeting })
  const likeOnBob = rootOnBob.getByRole('button', { name: 'Like', exact: true })
  assert.equal(await likeOnBob.getAttribute('aria-pressed'), 'false')
  await likeOnBob.click()
  await rootOnBob.getByRole('button', { name: '1 like: show who liked' }).waitFor()
  assert.equal(await likeOnBob.getAttribute('aria-pressed'), 'true')
  await bob.screenshot('liked')

  // Alice follows Bob back, so her peer replicates his reply and his like.
  await follow(alice.page, bobPeer.id)
  await alice.screenshot('follows-bob')
  await goTo(alice.page, '#/')
  await alice.page.getByRole('article').filter({ hasText: greeting }).getByRole('link', { name: /^Reply/ }).click()
  const replyOnAlice = alice.page.getByRole('region', { name: 'Replies' }).getByRole('article').filter({ hasText: answer })
  await replyOnAlice.waitFor()
  const rootOnAlice = alice.page.getByRole('article').filter({ hasText: greeting })
  await rootOnAlice.getByRole('button', { name: '1 like: show who liked' }).click()
  await rootOnAlice.getByRole('list', { name: 'Liked by' }).getByRole('link', { name: 'Bob' }).waitFor()
  await alice.screenshot('sees-reply-and-like')

  await goTo(alice.page, profileHash(bobPeer.id))
  await alice.page.getByRole('button', { name: 'Block' }).click()
  await alice.page.getByRole('button', { name: 'Unblock' }).waitFor()
  await alice.screenshot('blocked-bob')
  await alice.page.goBack() // the profile's hash came from goTo; back is the thread
  await alice.page.getByRole('textbox', { name: 'Write a reply' }).waitFor()
  await rootOnAlice.waitFor()
  assert.equal(await replyOnAlice.count(), 0, "Bob's reply is hidden once Alice blocks him")
  await alice.screenshot('thread-without-bob')

  for (const watched of [alice, bob]) await assertStayedLocal(watched)
})
