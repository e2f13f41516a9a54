// `hearsay start` as a user runs it: a child process in the foreground, its JSON lines read as
// they come, talked to over the network on 127.0.0.1, and stopped with a signal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { readSecretFile, type FeedId } from '@hearsay/keys'
import { connectLocal } from '@hearsay/network'
import { fails, ok, startHearsay, tempDir } from './test-helpers.ts'

const require = createRequire(import.meta.url)

test('hearsay start listens, prints ready and event lines, serves its owner, and stops on SIGTERM', async (t) => {
  const dataDir = await tempDir(t, 'hearsay-start-')
  await ok(dataDir, 'init')
  const identity = await readSecretFile(path.join(dataDir, 'secret'))
  const running = await startHearsay(t, dataDir)
  const { ready, lines, lineWhere } = running

  assert.equal(ready.id, identity.id)
  const address = String(ready.address)
  assert.match(address, /^net:127\.0\.0\.1:\d+~shs:/)

  // The owner's key gets the full API, as a local client.
  const ssbClient = require('ssb-client') as (keys: object, config: object, cb: (err: Error | null, client: Client) => void) => void
  interface Client {
    whoami(cb: (err: Error | null, value: { id: FeedId }) => void): void
    publish(content: object, cb: (err: Error | null, value: { value: { sequence: number } }) => void): void
    close(cb: () => void): void
  }
  const port = Number(/:(\d+)~/.exec(address)![1])
  const keys = { curve: 'ed25519', id: identity.id, public: `${identity.publicKey.toString('base64')}.ed25519`, private: `${identity.secretKey.toString('base64')}.ed25519` }
  const client = await new Promise<Client>((resolve, reject) =>
    ssbClient(keys, { host: '127.0.0.1', port, key: identity.id, caps: { shs: '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=' }, manifest: null }, (err, c) => (err ? reject(err) : resolve(c))))
  assert.deepEqual(await new Promise((resolve, reject) => client.whoami((err, v) => (err ? reject(err) : resolve(v)))), { id: identity.id })
  const published = await new Promise<{ value: { sequence: number } }>((resolve, reject) => client.publish({ type: 'post', text: 'through the running peer' }, (err, v) => (err ? reject(err) : resolve(v))))
  assert.equal(published.value.sequence, 1)
  await lineWhere((line) => line.event === 'connected' && line.local === true)
  await new Promise<void>((resolve) => client.close(() => resolve()))
  await lineWhere((line) => line.event === 'disconnected')

  // And without a handshake, over the unix socket in the data directory.
  assert.equal(ready.socket, path.join(dataDir, 'socket'))
  const local = await connectLocal(String(ready.socket))
  const second = await local.call<{ value: { sequence: number } }>('publish', { type: 'post', text: 'through the socket' })
  assert.equal(second.value.sequence, 2)
  await local.close()

  assert.equal(await running.stop(), 0)
  assert.ok(lines.some((line) => line.event === 'stopping' && line.signal === 'SIGTERM'))
  // Stopped cleanly: the store is closed and reopens with the message in it.
  const result = await ok(dataDir, 'log', '--json')
  assert.match(result, /through the running peer/)
  assert.match(result, /through the socket/)
})

test('the first start creates the identity; a secret whose store is gone is refused, untouched', async (t) => {
  const dataDir = path.join(await tempDir(t, 'hearsay-first-start-'), 'fresh')
  const running = await startHearsay(t, dataDir)
  const { ready } = running
  assert.equal(ready.created, dataDir)
  assert.equal((await readSecretFile(path.join(dataDir, 'secret'))).id, ready.id)
  assert.equal(await running.stop(), 0)

  // The same identity on the next start; and with the store gone, no new feed is started.
  await rm(path.join(dataDir, 'db'), { recursive: true })
  await fails(dataDir, 1, ['start', '--port', '0'], /^hearsay: .*holds a secret but no message store/)
  assert.equal((await readSecretFile(path.join(dataDir, 'secret'))).id, ready.id)
})
