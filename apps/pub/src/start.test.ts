// `hearsay start` as a user runs it: a child process in the foreground, its JSON lines read as
// they come, talked to over the network on 127.0.0.1, and stopped with a signal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { readSecretFile, type FeedId } from '@hearsay/keys'
import { connectLocal } from '@hearsay/network'

const require = createRequire(import.meta.url)
const binPath = fileURLToPath(new URL('../bin/hearsay.js', import.meta.url))

test('hearsay start listens, prints ready and event lines, serves its owner, and stops on SIGTERM', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hearsay-start-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const env = { ...process.env, HEARSAY_DATA: dataDir }
  await new Promise<void>((resolve, reject) => execFile(process.execPath, [binPath, 'init'], { env }, (err) => (err ? reject(err) : resolve())))
  const identity = await readSecretFile(path.join(dataDir, 'secret'))

  const child = spawn(process.execPath, [binPath, 'start', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.after(() => {
    child.kill('SIGKILL')
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  })
  const lineWhere = async (match: (line: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = lines.find(match)
      if (found) return found
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }

  const ready = await lineWhere((line) => line.event === 'ready')
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

  child.kill('SIGTERM')
  assert.equal(await exited, 0, stderr)
  assert.equal(stderr, '')
  assert.ok(lines.some((line) => line.event === 'stopping' && line.signal === 'SIGTERM'))
  // Stopped cleanly: the store is closed and reopens with the message in it.
  const result = await new Promise<string>((resolve, reject) => execFile(process.execPath, [binPath, 'log', '--json'], { env }, (err, out) => (err ? reject(err) : resolve(out))))
  assert.match(result, /through the running peer/)
  assert.match(result, /through the socket/)
})

test('the first start creates the identity; a secret whose store is gone is refused, untouched', async (t) => {
  const parent = await mkdtemp(path.join(tmpdir(), 'hearsay-first-start-'))
  t.after(() => rm(parent, { recursive: true, force: true }))
  const dataDir = path.join(parent, 'fresh')
  const env = { ...process.env, HEARSAY_DATA: dataDir }
  const child = spawn(process.execPath, [binPath, 'start', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => {
    child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let ready: { event: string; id: string; created?: string } | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    ready = JSON.parse(line) as typeof ready
    if (ready!.event === 'ready') break
  }
  assert.equal(ready?.event, 'ready')
  assert.equal(ready!.created, dataDir)
  assert.equal((await readSecretFile(path.join(dataDir, 'secret'))).id, ready!.id)
  child.kill('SIGTERM')
  assert.equal(await exited, 0)

  // The same identity on the next start; and with the store gone, no new feed is started.
  await rm(path.join(dataDir, 'db'), { recursive: true })
  const refused = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [binPath, 'start', '--port', '0'], { env }, (err, _out, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr })))
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^hearsay: .*holds a secret but no message store/)
  assert.equal((await readSecretFile(path.join(dataDir, 'secret'))).id, ready!.id)
})
