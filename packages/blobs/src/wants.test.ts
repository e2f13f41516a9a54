import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import type { BlobId } from '@hearsay/keys'
import { BlobError, openBlobStore, type BlobStore, type FetchBlob, type WantsMessage, type WantsSession } from './index.ts'
import { bytes, filesUnder, idOf, tempDir, tempStore } from './test-helpers.ts'

interface Delivery {
  from: string
  to: string
  msg: WantsMessage
}

/**
 * In-memory links between stores. Each message goes through JSON, as it would over muxrpc, and
 * is logged once the receiving session has finished handling it, so tests wait on deliveries
 * rather than on time.
 */
class Network {
  readonly log: Delivery[] = []
  private readonly waiters: Array<{ match: (d: Delivery) => boolean; resolve: (d: Delivery) => void }> = []
  readonly fetches: Array<{ from: string; id: BlobId; size: number; max: number }> = []

  private delivered(delivery: Delivery): void {
    this.log.push(delivery)
    for (const waiter of [...this.waiters]) {
      if (waiter.match(delivery)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve(delivery)
      }
    }
  }

  /** Resolves once a matching message has been handled (or already was). */
  handled(from: string, to: string, msg: WantsMessage): Promise<Delivery> {
    const match = (d: Delivery): boolean => d.from === from && d.to === to && JSON.stringify(d.msg) === JSON.stringify(msg)
    const seen = this.log.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.waiters.push({ match, resolve }))
  }

  sent(from: string, to: string): WantsMessage[] {
    return this.log.filter((d) => d.from === from && d.to === to).map((d) => d.msg)
  }

  private pipe(from: string, to: string, outgoing: AsyncIterable<WantsMessage>, receiver: WantsSession): Promise<void> {
    return (async () => {
      try {
        for await (const msg of outgoing) {
          const wire = JSON.parse(JSON.stringify(msg)) as WantsMessage
          await receiver.receive(wire)
          this.delivered({ from, to, msg: wire })
        }
      } finally {
        receiver.close()
      }
    })()
  }

  /** Connects two stores; `fetchFrom` overrides how each side reads the other's blobs. */
  link(
    a: [string, BlobStore],
    b: [string, BlobStore],
    fetchFrom: Partial<Record<string, FetchBlob>> = {},
  ): { close(): void; done: Promise<unknown> } {
    const [aName, aStore] = a
    const [bName, bStore] = b
    const fetcher = (name: string, store: BlobStore): FetchBlob => {
      const custom = fetchFrom[name]
      return (id, hint) => {
        this.fetches.push({ from: name, id, ...hint })
        return custom ? custom(id, hint) : store.get(id, { max: hint.max })
      }
    }
    const aToB = aStore.wantsSession(bName, { fetch: fetcher(bName, bStore) }) // a's view of b
    const bToA = bStore.wantsSession(aName, { fetch: fetcher(aName, aStore) })
    const done = Promise.all([this.pipe(bName, aName, bToA.outgoing(), aToB), this.pipe(aName, bName, aToB.outgoing(), bToA)])
    return {
      close() {
        aToB.close()
        bToA.close()
      },
      done,
    }
  }
}

async function stores<const N extends string>(
  t: Parameters<typeof tempStore>[0],
  names: readonly N[],
  maxSize?: number,
): Promise<Record<N, BlobStore>> {
  const entries = await Promise.all(names.map(async (name) => [name, await tempStore(t, { maxSize })] as const))
  return Object.fromEntries(entries) as Record<N, BlobStore>
}

/** The opening message of a fresh outgoing stream. */
async function opening(session: WantsSession): Promise<WantsMessage> {
  return (await session.outgoing()[Symbol.asyncIterator]().next()).value as WantsMessage
}

test('two sessions back to back: wants and haves are exchanged and each side fetches what it wants', async (t) => {
  const { A, B } = await stores(t, ['A', 'B'])
  const x = bytes(3000, 1)
  const y = bytes(4000, 2)
  const X = await B.add(x)
  const Y = await A.add(y)
  const bWantsY = B.want(Y) // wanted before the peers meet: goes out in B's opening message
  await new Promise<void>((resolve) => B.onWantsChange(() => resolve()))

  const net = new Network()
  const link = net.link(['A', A], ['B', B])
  t.after(() => link.close())
  // B asked in its opening message; A answered; B fetched and announced it to A.
  await bWantsY
  await net.handled('B', 'A', { [Y]: 4000 })
  // Now A wants something B has.
  await A.want(X)
  await net.handled('A', 'B', { [X]: 3000 })

  assert.deepEqual(await A.size(X), 3000)
  assert.deepEqual(await B.size(Y), 4000)
  assert.deepEqual(net.sent('A', 'B'), [{}, { [Y]: 4000 }, { [X]: -1 }, { [X]: 3000 }])
  assert.deepEqual(net.sent('B', 'A'), [{ [Y]: -1 }, { [Y]: 4000 }, { [X]: 3000 }])
  assert.deepEqual(
    net.fetches.map(({ from, id, size, max }) => [from, id, size, max]).sort(),
    [
      ['A', Y, 4000, 5 * 1024 * 1024],
      ['B', X, 3000, 5 * 1024 * 1024],
    ].sort(),
  )
  assert.deepEqual(A.wants(), {})
  assert.deepEqual(B.wants(), {})
})

test('a blob larger than maxSize is not fetched, unless an explicit want raises the limit', async (t) => {
  const { A, B } = await stores(t, ['A', 'B'], 1000)
  const big = bytes(2000, 3)
  const X = await B.add(big)
  const net = new Network()
  const link = net.link(['A', A], ['B', B])
  t.after(() => link.close())

  const plain = A.want(X)
  await net.handled('B', 'A', { [X]: 2000 }) // A heard B has it, and let it be
  assert.equal(net.fetches.length, 0)
  assert.equal(await A.has(X), false)
  assert.deepEqual(A.wants(), { [X]: -1 })

  await A.want(X, { max: 2000 })
  await plain
  assert.deepEqual(
    net.fetches.map((f) => [f.from, f.max]),
    [['B', 2000]],
  )
  assert.equal(await A.size(X), 2000)
})

test('a fetch that fails verification is discarded and retried from the next peer that has the blob', async (t) => {
  const dirA = path.join(await tempDir(t), 'blobs')
  const failures: Array<[string, BlobId, unknown]> = []
  let failed!: () => void
  const firstFailure = new Promise<void>((resolve) => (failed = resolve))
  const A = await openBlobStore({
    dir: dirA,
    onFetchError: (peer, id, err) => {
      failures.push([peer, id, err])
      failed()
    },
  })
  t.after(() => A.close())
  const { B, C } = await stores(t, ['B', 'C'])
  const x = bytes(50_000, 4)
  const X = await B.add(x)
  await C.add(x)

  const net = new Network()
  // B claims the blob but serves other bytes.
  const liar = net.link(['A', A], ['B', B], { B: () => [bytes(50_000, 5)] })
  t.after(() => liar.close())
  const wanted = A.want(X)
  await firstFailure
  assert.equal(failures.length, 1)
  assert.equal(failures[0]![0], 'B')
  assert.ok(failures[0]![2] instanceof BlobError && failures[0]![2].code === 'EBLOB_HASH')
  assert.deepEqual(await filesUnder(dirA), [], 'the bad bytes are gone, temp file included')
  assert.deepEqual(A.wants(), { [X]: -1 }, 'still wanted')

  const honest = net.link(['A', A], ['C', C])
  t.after(() => honest.close())
  await wanted
  assert.deepEqual(
    net.fetches.map((f) => f.from),
    ['B', 'C'],
  )
  assert.equal(await A.size(X), 50_000)
})

test('when a fetch fails, a peer already known to have the blob is tried at once; the failed one is not asked again', async (t) => {
  const failures: string[] = []
  const failureWaiters: Array<() => void> = []
  const nextFailure = () => new Promise<void>((resolve) => failureWaiters.push(resolve))
  const A = await tempStore(t, {
    onFetchError: (peer) => {
      failures.push(peer)
      failureWaiters.shift()?.()
    },
  })
  const calls: string[] = []
  const served = new Map<BlobId, Buffer>()
  const bad = A.wantsSession('B', {
    fetch: () => {
      calls.push('B')
      return Promise.reject(new Error('stream reset'))
    },
  })
  const good = A.wantsSession('C', {
    fetch: (id) => {
      calls.push('C')
      const data = served.get(id)!
      return [data.subarray(0, 5000), data.subarray(5000)]
    },
  })
  const x = bytes(10_000, 6)
  const X = idOf(x)
  served.set(X, x)
  // Both report the blob before we want it; B is asked first, fails, and C is asked next.
  await bad.receive({ [X]: 10_000 })
  await good.receive({ [X]: 10_000 })
  await A.want(X)
  assert.deepEqual(calls, ['B', 'C'])
  assert.deepEqual(failures, ['B'])

  // B fails on Y and then claims it again: not asked twice. C turning up with it is.
  const y = bytes(9000, 7)
  const Y = idOf(y)
  served.set(Y, y)
  const wantedY = A.want(Y)
  const failed = nextFailure()
  await bad.receive({ [Y]: 9000 })
  await failed
  await bad.receive({ [Y]: 9000 })
  assert.deepEqual(calls, ['B', 'C', 'B'])
  await good.receive({ [Y]: 9000 })
  await wantedY
  assert.deepEqual(calls, ['B', 'C', 'B', 'C'])
})

test('wants are passed on one hop further each time, up to sympathy, and the blob flows back', async (t) => {
  const { A, B, C, D } = await stores(t, ['A', 'B', 'C', 'D'])
  const net = new Network()
  for (const [p, q] of [
    ['A', 'B'],
    ['B', 'C'],
    ['C', 'D'],
  ] as const) {
    const link = net.link([p, { A, B, C, D }[p]], [q, { A, B, C, D }[q]])
    t.after(() => link.close())
  }
  const x = bytes(1234, 7)
  const X = idOf(x)
  const wanted = A.want(X)
  await net.handled('C', 'D', { [X]: -3 })
  await net.handled('D', 'C', {})
  // B wants it for A at 2 hops and says so to both neighbours; C at 3; D (4 hops) does not care.
  assert.deepEqual(B.wants(), { [X]: -2 })
  assert.deepEqual(C.wants(), { [X]: -3 })
  assert.deepEqual(D.wants(), {})
  assert.deepEqual(net.sent('B', 'A').slice(1), [{ [X]: -2 }])
  assert.deepEqual(net.sent('D', 'C'), [{}])

  await D.add(x) // D announces it; C, B and A each fetch from their neighbour in turn
  await wanted
  for (const store of [A, B, C]) assert.equal(await store.size(X), 1234)
  assert.deepEqual(
    net.fetches.map((f) => f.from),
    ['D', 'C', 'B'],
  )
})

test('a session answers wants for blobs it has in one reply, and ignores what is not a want or have', async (t) => {
  const A = await tempStore(t)
  const X = await A.add(bytes(10, 8))
  const Y = await A.add(bytes(20, 9))
  const Z = idOf(Buffer.from('missing'))
  const session = A.wantsSession('peer')
  const out = session.outgoing()[Symbol.asyncIterator]()
  assert.deepEqual((await out.next()).value, {}, 'opens with our (empty) wants')
  for (const junk of [null, 5, 'x', [X], { [X]: 0 }, { [X]: 1.5 }, { [X]: '-1' }, { nope: -1 }, { [X.replace('=', '')]: -1 }]) {
    await session.receive(junk)
  }
  await session.receive({ [X]: -1, [Z]: -1, [Y]: -2 })
  assert.deepEqual((await out.next()).value, { [Z]: -2 }, 'the missing one is wanted on their behalf, to everyone')
  assert.deepEqual((await out.next()).value, { [X]: 10, [Y]: 20 }, 'one reply for the wants it can answer')
  session.close()
  assert.deepEqual(await out.next(), { value: undefined, done: true })
})

test('a peer heard of before it has a fetch is fetched from once given one; closing forgets it', async (t) => {
  const A = await tempStore(t)
  const x = bytes(100, 10)
  const X = idOf(x)
  const wanted = A.want(X)
  const session = A.wantsSession('B') // e.g. B called our createWants before we called theirs
  await session.receive({ [X]: 100 })
  assert.equal(await A.has(X), false)
  A.wantsSession('B', { fetch: () => [x] })
  await wanted

  const Y = idOf(bytes(100, 11))
  const later = A.wantsSession('C')
  await later.receive({ [Y]: 100 })
  later.close()
  assert.equal(later.available.size, 0)
  assert.notEqual(A.wantsSession('C'), later, 'a closed session is replaced')
  assert.deepEqual(await opening(A.wantsSession('D')), {})
})

test('pushed blobs are offered until enough peers have them, and the push list survives a restart', async (t) => {
  const dir = path.join(await tempDir(t), 'blobs')
  const A = await openBlobStore({ dir, pushy: 2 })
  const x = bytes(500, 12)
  const X = await A.add(x)
  await A.push(X)
  assert.deepEqual(A.pushing(), [X])
  const { B, C } = await stores(t, ['B', 'C'])
  const net = new Network()
  const ab = net.link(['A', A], ['B', B])
  const ac = net.link(['A', A], ['C', C])
  t.after(() => {
    ab.close()
    ac.close()
  })
  await net.handled('A', 'B', { [X]: -1 })
  assert.deepEqual(net.sent('A', 'B')[0], { [X]: -1 }, 'offered as a want in the opening message')
  await net.handled('B', 'A', { [X]: 500 })
  await net.handled('C', 'A', { [X]: 500 })
  assert.deepEqual(A.pushing(), [])
  assert.equal(await B.size(X), 500)
  assert.equal(await C.size(X), 500)
  assert.equal(
    net.fetches.filter((f) => f.from === 'B' || f.from === 'C').length,
    0,
    'the pusher does not download its own blob back',
  )
  ab.close()
  ac.close()

  const Y = await A.add(bytes(10, 13))
  await A.push(Y)
  A.close()
  const reopened = await openBlobStore({ dir })
  t.after(() => reopened.close())
  assert.deepEqual(reopened.pushing(), [Y])
  assert.deepEqual(await opening(reopened.wantsSession('E')), { [Y]: -1 })
})
