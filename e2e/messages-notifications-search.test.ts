// Three real `hearsay start --web 0` peers on 127.0.0.1 in Debian's Chromium: a private message
// from Alice reaches Bob's inbox (unread until opened) and stays invisible to Carol, whose peer
// replicates Alice's feed; Alice's notifications arrive live for Bob's mention, reply and like;
// search finds a post by a word in it, a person by name and a hashtag by its start.
// Screenshots: artifacts/e2e/messages/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertStayedLocal, launchBrowser, openPage } from './helpers/browser.ts'
import { startPeer } from './helpers/peer.ts'
import { follow, goTo, onboard, profileHash, waitForHomePost } from './helpers/app.ts'

test('private messages, live notifications and search across three peers', async (t) => {
  const alicePeer = await startPeer(t, { web: true })
  const bobPeer = await startPeer(t, { web: true, peers: [alicePeer.address] })
  const carolPeer = await startPeer(t, { web: true, peers: [alicePeer.address] })
  const browser = await launchBrowser(t)
  const alice = await openPage(browser, alicePeer.web!, 'messages', 'alice')
  const bob = await openPage(browser, bobPeer.web!, 'messages', 'bob')
  const carol = await openPage(browser, carolPeer.web!, 'messages', 'carol')
  await onboard(alice.page, 'Alice')
  await onboard(bob.page, 'Bob')
  await onboard(carol.page, 'Carol')
  await follow(bob.page, alicePeer.id)
  await follow(carol.page, alicePeer.id)
  await follow(alice.page, bobPeer.id)

  // Alice watches her notifications while Bob mentions her, replies to her and likes her post.
  const gardenPost = 'Planting garlic in the #gardening bed today'
  await goTo(alice.page, '#/')
  await alice.page.getByRole('textbox', { name: 'Write a post' }).fill(gardenPost)
  await alice.page.getByRole('button', { name: 'Post', exact: true }).click()
  await alice.page.getByRole('article').filter({ hasText: gardenPost }).waitFor()
  await goTo(alice.page, '#/notifications')
  const notes = alice.page.getByRole('list', { name: 'Notifications' })
  await notes.getByText('Bob followed you').waitFor()

  await goTo(bob.page, '#/')
  await waitForHomePost(bob.page, gardenPost)
  const gardenOnBob = bob.page.getByRole('article').filter({ hasText: gardenPost })
  await gardenOnBob.getByRole('button', { name: 'Like', exact: true }).click()
  await notes.getByText(/Bob liked your post/).waitFor()
  await alice.screenshot('live-like')

  await gardenOnBob.getByRole('link', { name: /^Reply/ }).click()
  await bob.page.getByRole('textbox', { name: 'Write a reply' }).fill('Garlic keeps the aphids away')
  await bob.page.getByRole('button', { name: 'Reply', exact: true }).click()
  await notes.getByText(/Bob replied in a thread you are in/).waitFor()

  await goTo(bob.page, '#/')
  const composer = bob.page.getByRole('textbox', { name: 'Write a post' })
  await composer.fill('Thanks @Ali')
  await bob.page.getByRole('option', { name: /Alice/ }).click()
  await bob.page.getByRole('button', { name: 'Post', exact: true }).click()
  await notes.getByText(/Bob mentioned you/).waitFor()
  await alice.screenshot('live-notifications')

  // Away from the list, a new notification shows as a count in the navigation.
  await goTo(alice.page, '#/')
  const aliceNav = alice.page.getByRole('navigation', { name: 'Main' })
  await aliceNav.getByRole('link', { name: 'Notifications', exact: true }).waitFor()
  await composer.fill(`One more for [@Alice](${alicePeer.id})`)
  await bob.page.getByRole('button', { name: 'Post', exact: true }).click()
  await aliceNav.getByRole('link', { name: 'Notifications 1 new' }).waitFor()
  await alice.screenshot('unread-count')
  await aliceNav.getByRole('link', { name: 'Notifications 1 new' }).click()
  await aliceNav.getByRole('link', { name: 'Notifications', exact: true }).waitFor()

  // A private message to Bob, picked by name.
  await goTo(alice.page, '#/messages')
  await alice.page.getByRole('button', { name: 'New message' }).click()
  await alice.page.getByLabel(/^To \(up to/).fill('Bo')
  await alice.page.getByRole('listbox', { name: 'People found' }).getByRole('button', { name: 'Bob' }).click()
  const secret = 'The pineapple plan stays between us'
  await alice.page.getByRole('textbox', { name: 'Write a post' }).fill(secret)
  await alice.page.getByRole('button', { name: 'Send privately' }).click()
  await alice.page.getByRole('heading', { name: 'Private, with Bob' }).waitFor()
  await alice.page.getByRole('region', { name: 'Private messages' }).getByText(secret).waitFor()
  await alice.screenshot('sent-private')
  // A public post after it: once a peer shows this one, it holds the private message too.
  const after = 'Back in the garden after lunch'
  await goTo(alice.page, '#/')
  await alice.page.getByRole('textbox', { name: 'Write a post' }).fill(after)
  await alice.page.getByRole('button', { name: 'Post', exact: true }).click()
  await alice.page.getByRole('article').filter({ hasText: after }).waitFor()

  await alice.page.goBack() // to the conversation, where Bob's answer will arrive live

  // Bob is reading his home feed: the message shows up as a count on Messages, live.
  const bobNav = bob.page.getByRole('navigation', { name: 'Main' })
  await bobNav.getByRole('link', { name: 'Messages 1 new' }).click()
  const conversation = bob.page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: secret })
  await conversation.getByText('Unread').waitFor()
  await bob.screenshot('inbox-unread')
  await conversation.getByRole('link').click()
  await bob.page.getByRole('region', { name: 'Private messages' }).getByText(secret).waitFor()
  await bob.page.getByRole('textbox', { name: 'Write a reply' }).fill('Count me in')
  await bob.page.getByRole('button', { name: 'Reply', exact: true }).click()
  await bob.page.getByRole('region', { name: 'Private messages' }).getByText('Count me in').waitFor()
  await alice.page.getByRole('region', { name: 'Private messages' }).getByText('Count me in').waitFor()
  await alice.screenshot('private-reply-live')
  await bobNav.getByRole('link', { name: 'Messages', exact: true }).click()
  await bob.page.getByRole('list', { name: 'Conversations' }).getByText('Count me in').waitFor()
  assert.equal(await bob.page.getByRole('list', { name: 'Conversations' }).getByText('Unread').count(), 0, 'read once opened')
  await bob.screenshot('inbox-read')

  // Carol replicates Alice's feed, boxed message included, and sees it nowhere.
  await goTo(carol.page, '#/')
  await waitForHomePost(carol.page, after)
  await goTo(carol.page, '#/search')
  const searchBox = carol.page.getByRole('searchbox', { name: 'Search posts, people and hashtags' })
  await searchBox.fill('pineapple')
  await carol.page.getByText('No posts match “pineapple”.').waitFor()
  await carol.screenshot('search-private-not-found')
  await goTo(carol.page, '#/messages')
  await carol.page.getByText('No private messages yet.').waitFor()
  await goTo(carol.page, profileHash(alicePeer.id))
  await carol.page.getByRole('article').filter({ hasText: after }).waitFor()
  assert.equal(await carol.page.getByText(secret).count(), 0)

  // Search as you type: a post by a word in it, a person by name, a hashtag by its start.
  await goTo(carol.page, '#/search')
  await searchBox.fill('garli')
  await carol.page.getByRole('article').filter({ hasText: gardenPost }).waitFor()
  await searchBox.fill('Ali')
  await carol.page.getByRole('region', { name: 'People found' }).getByRole('link', { name: 'Alice' }).waitFor()
  await searchBox.fill('#garde')
  const tagLink = carol.page.getByRole('region', { name: 'Hashtags found' }).getByRole('link', { name: '#gardening' })
  await tagLink.waitFor()
  await carol.screenshot('search')
  await tagLink.click()
  await carol.page.getByRole('heading', { name: '#gardening' }).waitFor()

  for (const watched of [alice, bob, carol]) await assertStayedLocal(watched)
})
