// The client API as muxrpc namespace `hearsay`, driven by the reference client (ssb-client) over
// secret-handshake TCP on 127.0.0.1: every method for our own key, nothing for anyone else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Source } from 'pull-stream'
import { generateIdentity, MAIN_NETWORK_CAPS, readSecretFile, type FeedId, type Identity } from '@hearsay/keys'
import type { PostView, SetupView, StatusView } from '@hearsay/client-api'
import { codeOfRpcError } from '@hearsay/network'
import { defer, startTestApp, type Teardown } from './testing.ts'

const require = createRequire(import.meta.url)

type Callback<T> = (err: Error | null, value: T) => void
interface HearsayClient {
  manifest(cb: Callback<Record<string, unknown>>): void
  hearsay?: {
    setup(cb: Callback<SetupView>): void
    publishPost(draft: object, cb: Callback<PostView>): void
    homeFeed(options: object, cb: Callback<{ items: PostView[] }>): void
    statusLive(): Source<StatusView>
  }
  close(cb: () => void): void
}

function connect(t: Teardown, identity: Identity, port: number, remote: FeedId, manifest: object | null = null): Promise<HearsayClient> {
  const ssbClient = require('ssb-client') as (keys: object, config: object, cb: Callback<HearsayClient>) => void
  const keys = {
    curve: 'ed25519', id: identity.id,
    public: `${identity.publicKey.toString('base64')}.ed25519`, private: `${identity.secretKey.toString('base64')}.ed25519`,
  }
  return new Promise((resolve, reject) =>
    ssbClient(keys, { host: '127.0.0.1', port, key: remote, caps: { shs: MAIN_NETWORK_CAPS }, manifest }, (err, client) => {
      if (err) return reject(err)
      defer(t, () => new Promise<void>((done) => client.close(() => done())))
      resolve(client)
    }),
  )
}

const call = <T>(fn: (cb: Callback<T>) => void) => new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))

test('our own key calls hearsay.* over muxrpc: async methods, coded errors and sources', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const owner = await readSecretFile(path.join(app.dataDir, 'secret'))
  const port = Number(/:(\d+)~/.exec(app.peer.address!)![1])
  const client = await connect(t, owner, port, app.id)
  assert.ok(client.hearsay, 'the manifest our key gets includes hearsay')

  const setup = await call<SetupView>((cb) => client.hearsay!.setup(cb))
  assert.deepEqual(setup, { id: app.id, feedLength: 0, named: false, restorePending: false })
  const post = await call<PostView>((cb) => client.hearsay!.publishPost({ text: 'over muxrpc' }, cb))
  assert.equal(post.author, app.id)
  const home = await call<{ items: PostView[] }>((cb) => client.hearsay!.homeFeed({}, cb))
  assert.deepEqual(home.items.map((p) => p.id), [post.id])

  const tooBig = await call<PostView>((cb) => client.hearsay!.publishPost({ text: 'x'.repeat(9000) }, cb)).then(() => null, (err: unknown) => err)
  assert.ok(tooBig instanceof Error || typeof tooBig === 'object')
  assert.equal(codeOfRpcError(tooBig), 'EMSG_TOO_LARGE')
  assert.match((tooBig as Error).message, /limit is 8192/)
  const badArgument = await call((cb) => client.hearsay!.homeFeed({ limit: 'lots' }, cb)).then(() => null, (err: unknown) => err)
  assert.equal(codeOfRpcError(badArgument), 'EAPI_BAD_ARGUMENT')

  // One status, read straight off the pull-stream source, which is then aborted.
  const source = client.hearsay!.statusLive()
  const status = await new Promise<StatusView>((resolve, reject) => source(null, (end, data) => (end ? reject(end) : resolve(data!))))
  assert.equal(status.replication.wantedFeeds, 1)
  assert.deepEqual(status.peers, [])
  const aborted = await new Promise((resolve) => source(true, (end) => resolve(end)))
  assert.equal(aborted, true)
})

test('other keys get no hearsay namespace, and calling it anyway is refused', { timeout: 30_000 }, async (t) => {
  const app = await startTestApp(t)
  const port = Number(/:(\d+)~/.exec(app.peer.address!)![1])
  const stranger = generateIdentity()
  const client = await connect(t, stranger, port, app.id)
  assert.equal(client.hearsay, undefined)
  const manifest = await call<Record<string, unknown>>((cb) => client.manifest(cb))
  assert.equal(manifest.hearsay, undefined)

  // A client that assumes the namespace exists is refused, and nothing is published.
  const forcing = await connect(t, generateIdentity(), port, app.id, { manifest: 'sync', hearsay: { setup: 'async', publishPost: 'async' } })
  await assert.rejects(call((cb) => forcing.hearsay!.publishPost({ text: 'let me in' }, cb)))
  await assert.rejects(call((cb) => forcing.hearsay!.setup(cb)))
  assert.equal(await app.store.feedStatus(app.id), null)
})
