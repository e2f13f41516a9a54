import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateIdentity, type FeedId, type Identity } from '@hearsay/keys'
import { createValidationPool, type ValidationPool } from '@hearsay/message'
import { openStore, type BatchVerifier, type Store } from '@hearsay/store'
import { Peer, type PeerOptions } from '../peer.ts'
import type { PeerEvent } from '../events.ts'

export interface Teardown {
  after(fn: () => unknown): void
}

const cleanups = new WeakMap<Teardown, Array<() => unknown>>()

/**
 * Runs `fn` when the test ends, last registered first (node:test runs its own `after` hooks in
 * registration order, which would remove a directory before closing the store in it).
 */
export function defer(t: Teardown, fn: () => unknown): void {
  let stack = cleanups.get(t)
  if (!stack) {
    const created: Array<() => unknown> = []
    stack = created
    cleanups.set(t, created)
    t.after(async () => {
      for (const cleanup of created.reverse()) await cleanup()
    })
  }
  stack.push(fn)
}

/** A temp directory removed when the test ends. */
export async function tempDir(t: Teardown, prefix = 'hearsay-net-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A fresh store in a temp dir, closed when the test ends. */
export async function tempStore(t: Teardown, identity?: Identity): Promise<Store> {
  const store = await openStore({ path: await tempDir(t), create: true, ...(identity ? { identity } : {}) })
  defer(t, () => store.close())
  return store
}

export interface TestPeer {
  peer: Peer
  store: Store
  identity: Identity
  events: PeerEvent[]
}

/**
 * A started Peer on 127.0.0.1 (a free port) over a fresh store, stopped (before its store is
 * closed) when the test ends. Every event it emits is kept in `events`.
 */
export async function startPeer(t: Teardown, options: Partial<PeerOptions> = {}): Promise<TestPeer> {
  const identity = options.identity ?? generateIdentity()
  const store = options.store ?? (await tempStore(t, identity))
  const peer = new Peer({ host: '127.0.0.1', ...options, identity, store })
  const events: PeerEvent[] = []
  peer.on('event', (event) => events.push(event))
  defer(t, () => peer.stop())
  await peer.start()
  return { peer, store, identity, events }
}

/** Resolves with the first event (already seen or still to come) that `match` accepts. */
export function waitForEvent<E extends PeerEvent>(peer: TestPeer, match: (event: PeerEvent) => event is E): Promise<E>
export function waitForEvent(peer: TestPeer, match: (event: PeerEvent) => boolean): Promise<PeerEvent>
export function waitForEvent(peer: TestPeer, match: (event: PeerEvent) => boolean): Promise<PeerEvent> {
  const seen = peer.events.find(match)
  if (seen) return Promise.resolve(seen)
  return new Promise((resolve) => {
    const listener = (event: PeerEvent) => {
      if (!match(event)) return
      peer.peer.off('event', listener)
      resolve(event)
    }
    peer.peer.on('event', listener)
  })
}

/** Resolves once `store` holds `feed` up to at least `sequence`. */
export async function waitForSequence(store: Store, feed: FeedId, sequence: number): Promise<void> {
  let done!: () => void
  const reached = new Promise<void>((resolve) => {
    done = resolve
  })
  const unsubscribe = store.subscribe((message) => {
    if (message.value.author === feed && message.value.sequence >= sequence) done()
  })
  try {
    if (((await store.feedStatus(feed))?.sequence ?? 0) >= sequence) return
    await reached
  } finally {
    unsubscribe()
  }
}

/** Publishes `count` posts to `identity`'s feed. */
export async function publishPosts(store: Store, identity: Identity, count: number, prefix = 'post'): Promise<void> {
  for (let i = 1; i <= count; i++) await store.publish(identity, { type: 'post', text: `${prefix} ${i}` })
}

export async function feedKeys(store: Store, feed: FeedId): Promise<string[]> {
  const keys: string[] = []
  for await (const message of store.readFeed(feed)) keys.push(message.key)
  return keys
}

/**
 * A real validation pool (one thread, closed at teardown, or `pool` as given) behind a verifier
 * that records the size of every batch it is asked to check.
 */
export function recordingVerifier(t: Teardown, pool: ValidationPool = createValidationPool({ threads: 1 })): { verifier: BatchVerifier; asked: number[] } {
  defer(t, () => pool.close())
  const asked: number[] = []
  return {
    asked,
    verifier: {
      verifyBatch(values, hmacKey) {
        asked.push(values.length)
        return pool.verifyBatch(values, hmacKey)
      },
    },
  }
}
