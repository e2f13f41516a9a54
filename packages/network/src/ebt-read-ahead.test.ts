// A peer serving many feeds by EBT answers from its read-ahead (messages read from the store a
// chunk at a time) for peers that come after the first. Those answers once came synchronously,
// each from inside the one before, so a peer asking for the cached part of many feeds at once
// overflowed the stack and was cut off ("broke the EBT protocol"): the stress suite's crash
// target found it with a replica restarted after a SIGKILL.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { chain } from './testing/feeds.ts'
import { startPeer, waitForEvent, waitForSequence } from './testing/helpers.ts'

const FEEDS = 64
const MESSAGES = 100

test('a second peer fetching feeds the source already read ahead for the first is served them all', { timeout: 60_000 }, async (t) => {
  const authors = Array.from({ length: FEEDS }, () => generateIdentity())
  const feeds: FeedId[] = authors.map((author) => author.id)
  const source = await startPeer(t, { replicate: { feeds, hops: 0 } })
  for (const author of authors) {
    const result = await source.store.append(author.id, chain(author, MESSAGES))
    assert.equal(result.accepted.length, MESSAGES)
  }
  const everyFeed = (store: typeof source.store) => Promise.all(feeds.map((feed) => waitForSequence(store, feed, MESSAGES)))

  const first = await startPeer(t, { listen: false, replicate: { feeds, hops: 0 } })
  await first.peer.connect(source.peer.address!)
  await everyFeed(first.store)
  await first.peer.stop()

  // Every feed's messages are now in the source's read-ahead, from sequence 1.
  const second = await startPeer(t, { listen: false, replicate: { feeds, hops: 0 } })
  const cutOff = waitForEvent(source, (event) => event.event === 'cut-off').then((event) => {
    throw new Error(`the source cut the second peer off: ${JSON.stringify(event)}`)
  })
  await second.peer.connect(source.peer.address!)
  await Promise.race([everyFeed(second.store), cutOff])
  assert.deepEqual(source.events.filter((event) => event.event === 'cut-off'), [], 'no peer was cut off')
})
