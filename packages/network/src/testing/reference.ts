import type { ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import pull, { type Source } from 'pull-stream'
import type { FeedId, Identity } from '@hearsay/keys'
import { MAIN_NETWORK_CAPS } from '@hearsay/keys'
import { defer, tempDir, type Teardown } from './helpers.ts'
import { runReferenceServer } from './reference-process.ts'

const require = createRequire(import.meta.url)

/** The ssb-keys shape ssb-client takes. */
export interface SsbKeys {
  curve: 'ed25519'
  public: string
  private: string
  id: FeedId
}

export function ssbKeysOf(identity: Identity): SsbKeys {
  return {
    curve: 'ed25519',
    public: `${identity.publicKey.toString('base64')}.ed25519`,
    private: `${identity.secretKey.toString('base64')}.ed25519`,
    id: identity.id,
  }
}

type Callback<T> = (err: Error | null, value: T) => void

/** The part of an ssb-client connection the tests call. */
export interface SsbClient {
  id: FeedId
  whoami(cb: Callback<{ id: FeedId }>): void
  publish(content: object, cb: Callback<{ key: string; value: { sequence: number } }>): void
  createHistoryStream(options: object): Source<unknown>
  createLogStream(options: object): Source<unknown>
  latestSequence(feed: FeedId, cb: Callback<number>): void
  friends: {
    follow(feed: FeedId, options: object, cb: Callback<unknown>): void
    isFollowing(options: { source: FeedId; dest: FeedId }, cb: Callback<boolean>): void
  }
  gossip: { connect(address: string, cb: Callback<unknown>): void }
  get(options: unknown, cb: Callback<unknown>): void
  private: { publish(content: object, recps: FeedId[], cb: Callback<{ key: string; value: { content: unknown } }>): void; unbox(data: unknown, cb: Callback<unknown>): void }
  close(cb?: (err?: Error) => void): void
}

/** Connects ssb-client (the reference client) to `host:port`, as `keys`, expecting `remote` there. */
export function connectSsbClient(t: Teardown, keys: SsbKeys, options: { port: number; remote: FeedId; caps?: string }): Promise<SsbClient> {
  const ssbClient = require('ssb-client') as (keys: SsbKeys, config: object, cb: Callback<SsbClient>) => void
  return new Promise((resolve, reject) => {
    ssbClient(
      keys,
      { host: '127.0.0.1', port: options.port, key: options.remote, caps: { shs: options.caps ?? MAIN_NETWORK_CAPS }, manifest: null },
      (err, client) => {
        if (err) return reject(err)
        defer(t, () => new Promise<void>((done) => client.close(() => done())))
        resolve(client)
      },
    )
  })
}

export function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))
}

/**
 * The keys of `feed`'s messages as `client`'s server holds them, once it holds at least
 * `sequence` of them. It waits on the server's live log stream: a live createHistoryStream is
 * no good for that on ssb-server, whose ssb-replicate shares one "next sequence" among all live
 * readers of a feed, so a reader asking from 1 can be skipped past by a replicating peer that
 * asked from further on.
 */
export async function keysUpTo(client: SsbClient, feed: FeedId, sequence: number): Promise<string[]> {
  await new Promise<void>((resolve, reject) => {
    let done = false
    const drain = pull.drain<{ value?: { author?: string; sequence?: number } }>(
      (message) => {
        if (message.value?.author === feed && (message.value.sequence ?? 0) >= sequence) {
          done = true
          resolve()
          return false
        }
        return undefined
      },
      (end) => {
        if (!done) reject(end instanceof Error ? end : new Error(`the log stream ended before ${feed} reached ${sequence}`))
      },
    )
    pull(client.createLogStream({ live: true, old: true, keys: true }), drain)
  })
  const keys = await new Promise<string[]>((resolve, reject) => {
    pull(
      client.createHistoryStream({ id: feed, seq: 1, keys: true }),
      pull.collect<{ key: string }>((err, messages) => (err ? reject(err) : resolve(messages.map((m) => m.key)))),
    )
  })
  return keys
}

export interface ReferencePeer {
  id: FeedId
  address: string
  port: number
  dir: string
  keys: SsbKeys
  /** An ssb-client connection as the server's own key (so every method is allowed). */
  client: SsbClient
  process: ChildProcess
}

/**
 * ssb-server@16 in a child process on 127.0.0.1 (see ssb-server.ts) with a fresh data directory,
 * plus an ssb-client connected to it as its owner. Stopped and removed when the test ends.
 * With `ebt` it also runs ssb-ebt, and replicates by EBT with peers that speak it; with `invite`,
 * ssb-invite (codes for 127.0.0.1 allowed); with `blobs`, ssb-blobs.
 */
export async function startReferencePeer(t: Teardown, { caps = MAIN_NETWORK_CAPS, ebt = false, invite = false, blobs = false } = {}): Promise<ReferencePeer> {
  const dir = await tempDir(t, 'hearsay-ssb-server-')
  const plugins = [...(ebt ? ['ebt'] : []), ...(invite ? ['invite'] : []), ...(blobs ? ['blobs'] : [])]
  const { port, server, ready } = await runReferenceServer<{ id: FeedId; address: string }>(t, 'ssb-server', 'ssb-server.ts', (port) => [dir, String(port), caps, ...plugins])
  const ssbKeys = require('ssb-keys') as { loadSync(file: string): SsbKeys }
  const keys = ssbKeys.loadSync(path.join(dir, 'secret'))
  const client = await connectSsbClient(t, keys, { port, remote: ready.id, caps })
  return { ...ready, port, dir, keys, client, process: server.process }
}
