// Child process of the crash suite: a real Hearsay peer that replicates every feed of a source
// peer into its own store, printing lines the parent can kill it on:
//   `stored N`       every 25th log offset stored (N is the offset, so the store's count)
//   `error REASON`   a peer error event (e.g. the store could not append: a full disk)
//   `done N`         the store holds N ≥ the expected count of messages
// Closing its stdin stops it cleanly (peer stopped, store closed) with a `closed` line.
// Usage: node --import tsx replicate-child.ts <store dir> <source address> <feeds.json> <expected count>
import { readFile } from 'node:fs/promises'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { Peer } from '@hearsay/network'
import { openStore } from '@hearsay/store'

const [storePath, address, feedsFile, expectedArg] = process.argv.slice(2)
const expected = Number(expectedArg)
if (!storePath || !address || !feedsFile || !Number.isSafeInteger(expected)) {
  console.error('usage: replicate-child.ts <store dir> <source address> <feeds.json> <expected count>')
  process.exit(2)
}

const feeds = JSON.parse(await readFile(feedsFile, 'utf8')) as FeedId[]
const store = await openStore({ path: storePath, create: true })
let finished = false
const finish = () => {
  if (finished) return
  finished = true
  process.stdout.write(`done ${store.lastOffset}\n`)
}
store.subscribe((message) => {
  if (message.offset % 25 === 0) process.stdout.write(`stored ${message.offset}\n`)
  if (message.offset >= expected) finish()
})
// A throwaway identity: this peer only receives, and its store indexes no private messages.
const peer = new Peer({ store, identity: generateIdentity(), host: '127.0.0.1', listen: false, replicate: { feeds, hops: 0 } })
peer.on('event', (event) => {
  if (event.event === 'error') process.stdout.write(`error ${event.reason}\n`)
})
await peer.start()
process.stdin.on('end', () => {
  void (async () => {
    await peer.stop()
    await store.close()
    process.stdout.write('closed\n')
    // EBT's timers would keep the process a while longer; everything is closed.
    process.exit(0)
  })()
})
process.stdin.resume()
if (store.lastOffset >= expected) finish()
else await peer.connect(address)
