// Rooms from the command line: a pub started with `--pub --room`, two peers that stay in it with
// `--rooms`, one of which reaches the other with `hearsay connect tunnel:…` and replicates its
// post through the pub; and the flags' validation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { EXIT_USAGE } from './errors.ts'
import { fails, ok, startHearsay, tempDir } from './test-helpers.ts'

test('a peer reaches another through a Hearsay pub started with --room, and replicates through the tunnel', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t, 'hearsay-room-')
  const [pubDir, authorDir, readerDir] = ['pub', 'author', 'reader'].map((name) => path.join(root, name)) as [string, string, string]
  const pub = await startHearsay(t, pubDir, '--pub', '--room', '--external', '127.0.0.1', '--no-lan')
  const author = await startHearsay(t, authorDir, '--rooms', pub.ready.address, '--no-lan')
  const reader = await startHearsay(t, readerDir, '--rooms', pub.ready.address, '--no-lan')
  for (const peer of [author, reader]) await peer.lineWhere((line) => line.event === 'room-joined' && line.room === pub.ready.id)
  await ok(authorDir, 'publish', '--type', 'post', '--text', 'met through the pub')

  const tunnel = `tunnel:${pub.ready.id}:${author.ready.id}~shs:${author.ready.id.slice(1, -8)}`
  const connected = JSON.parse(await ok(readerDir, 'connect', tunnel, '--once', '--json')) as { id: string; address: string }
  assert.deepEqual(connected, { id: author.ready.id, address: tunnel })
  await ok(readerDir, 'follow', author.ready.id)
  await reader.lineWhere((line) => line.event === 'replicated' && line.feed === author.ready.id && line.peer === author.ready.id)
  const status = JSON.parse(await ok(readerDir, 'status', '--json')) as { peers: Array<{ id: string; kind: string; address: string }> }
  assert.deepEqual(status.peers.find((peer) => peer.id === author.ready.id)?.kind, 'room')
  assert.equal(status.peers.find((peer) => peer.id === author.ready.id)?.address, tunnel)
})

test('start checks --room and --rooms, and connect checks tunnel addresses', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t, 'hearsay-room-flags-')
  await fails(dir, EXIT_USAGE, ['start', '--room', '--no-lan'], /--room needs --pub/)
  await fails(dir, EXIT_USAGE, ['start', '--rooms', 'net:127.0.0.1:1', '--no-lan'], /--rooms: not a net:HOST:PORT~shs:KEY address/)
  await fails(dir, EXIT_USAGE, ['connect', 'tunnel:@nope.ed25519:@nope.ed25519'], /not a net:HOST:PORT~shs:KEY address \(nor tunnel:/)
})
