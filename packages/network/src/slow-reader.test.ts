// A peer that asks for a lot and stops reading its socket cannot make us read it all into
// memory: served streams wait while the connection's socket is backed up, and go on when it
// drains, every message still delivered in order. Real TCP on 127.0.0.1, a real store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import createMuxrpc from 'muxrpc'
import pull, { type Source } from 'pull-stream'
import { generateIdentity } from '@hearsay/keys'
import type { Store } from '@hearsay/store'
import { HELD_PER_CONNECTION } from './api.ts'
import { MANIFEST } from './manifest.ts'
import { holdable } from './replication.ts'
import { Transport } from './transport.ts'
import { defer, startPeer, tempStore, type Teardown } from './testing/helpers.ts'

const POSTS = 600
/** Each post near the 8 KB message limit, so the log dwarfs what the kernel's socket buffers hold. */
const TEXT = 'x'.repeat(7000)
const STREAMS = 10

/** `store`, counting every message read out of it feed by feed (what serving a history costs). */
function countingReads(store: Store): { store: Store; readonly read: number } {
  let read = 0
  const counted = new Proxy(store, {
    get(target, property) {
      if (property === 'readFeed') {
        return (...args: Parameters<Store['readFeed']>) => (async function* () {
          for await (const message of target.readFeed(...args)) {
            read++
            yield message
          }
        })()
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  return { store: counted, get read() { return read } }
}

/**
 * A peer connected to `address` that reads nothing from its socket until `reading.hold(false)`;
 * `history(feed)` collects one createHistoryStream of it, as sequences.
 */
async function stalledReader(t: Teardown, address: string): Promise<{ history(feed: string): Promise<number[]>; reading: { hold(held: boolean): void } }> {
  const transport = new Transport({ identity: generateIdentity() })
  defer(t, () => transport.close())
  const connection = await transport.connect(address)
  const rpc = createMuxrpc(MANIFEST, MANIFEST, { createHistoryStream: () => pull.empty() }, null)
  const reading = holdable(connection.stream.source)
  reading.hold(true)
  const wire = { source: reading.source, sink: connection.stream.sink }
  pull(wire, rpc.stream, wire)
  defer(t, () => connection.destroy())
  const history = (feed: string) => new Promise<number[]>((resolve, reject) => {
    pull(
      (rpc.createHistoryStream as (options: unknown) => Source<{ value: { sequence: number } }>)({ id: feed }),
      pull.collect((err, messages: Array<{ value: { sequence: number } }>) => (err ? reject(err) : resolve(messages.map((message) => message.value.sequence)))),
    )
  })
  return { history, reading }
}

test('a peer that stops reading gets no more read for it than its socket can take, and every message once it reads again', async (t) => {
  const identity = generateIdentity()
  const plain = await tempStore(t, identity)
  for (let i = 0; i < POSTS; i++) await plain.publish(identity, { type: 'post', text: `${i} ${TEXT}` })
  const reads = countingReads(plain)
  const pub = await startPeer(t, { identity, store: reads.store })

  const { history, reading } = await stalledReader(t, pub.peer.address!)

  const streams = Array.from({ length: STREAMS }, () => history(identity.id))
  // Long enough for the whole log to be read many times over if nothing held it back.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const readWhileStalled = reads.read
  const asked = POSTS * STREAMS
  // Held back: one store batch (100 messages) per stream, and the few hundred the socket
  // buffers take, far from all of them.
  assert.ok(readWhileStalled < asked / 3, `${readWhileStalled} of ${asked} messages read for a peer that reads nothing`)

  reading.hold(false)
  const received = await Promise.all(streams)
  const inOrder = Array.from({ length: POSTS }, (_, i) => i + 1)
  for (const sequences of received) assert.deepEqual(sequences, inOrder)
  assert.equal(reads.read, asked)
})

test('a peer that opens a stream per feed and reads none holds at most its connection budget, not a batch per stream', { timeout: 120_000 }, async (t) => {
  const FEEDS = 1000
  const PER_FEED = 8
  const store = await tempStore(t, generateIdentity())
  const authors = Array.from({ length: FEEDS }, () => generateIdentity())
  for (const author of authors) {
    for (let i = 0; i < PER_FEED; i++) await store.publish(author, { type: 'post', text: `${i} ${TEXT}` })
  }
  const reads = countingReads(store)
  const pub = await startPeer(t, { store: reads.store, replicate: { hops: 0 } })

  const { history, reading } = await stalledReader(t, pub.peer.address!)

  const streams = authors.map((author) => history(author.id))
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const readWhileStalled = reads.read
  // Each stream's first batch alone would be the whole log (8 messages a feed); held back to the
  // budget plus what the socket buffers take (about 750 of these 7 kB messages here).
  assert.ok(readWhileStalled <= HELD_PER_CONNECTION + 2000, `${readWhileStalled} of ${FEEDS * PER_FEED} messages read for a peer that reads nothing`)

  reading.hold(false)
  const received = await Promise.all(streams)
  const inOrder = Array.from({ length: PER_FEED }, (_, i) => i + 1)
  for (const sequences of received) assert.deepEqual(sequences, inOrder)
  assert.equal(reads.read, FEEDS * PER_FEED)
})
