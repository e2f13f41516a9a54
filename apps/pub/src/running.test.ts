// The other commands while `hearsay start` runs: they go through its local socket (the store
// is the running peer's), and every method it offers its owner is a command too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import type { Message } from '@hearsay/message'
import type { PeerStatus } from '@hearsay/network'
import { fails, hearsay, ok, startHearsay, tempDir } from './test-helpers.ts'

function jsonLines<T>(stdout: string): T[] {
  assert.ok(stdout.endsWith('\n'), stdout)
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as T)
}

test('while hearsay start runs, whoami, publish, log, follow, connect and status go through it', async (t) => {
  const root = await tempDir(t, 'hearsay-running-')
  const alice = path.join(root, 'alice')
  const bob = path.join(root, 'bob')
  const aliceId = (await ok(alice, 'init')).trim() as FeedId
  const bobId = (await ok(bob, 'init')).trim() as FeedId
  const running = await startHearsay(t, alice)
  const bobs = await startHearsay(t, bob)

  assert.equal(await ok(alice, 'whoami'), `${aliceId}\n`)
  await running.lineWhere((line) => line.event === 'connected' && line.local === true) // it asked the peer
  const [first] = jsonLines<Message>(await ok(alice, 'publish', '--type', 'post', '--text', 'while running'))
  assert.equal(first!.value.sequence, 1)
  const friend = generateIdentity()
  await ok(alice, 'publish', '--type', 'post', '--text', 'just us', '--recps', friend.id)
  assert.match(await ok(alice, 'log'), /^#1 .* post: while running\n#2 .* \(private\) post: just us\n$/)
  const stored = jsonLines<Message>(await ok(alice, 'log', '--json'))
  assert.equal(stored.length, 2)
  assert.match(stored[1]!.value.content as string, /\.box$/, '--json shows it as stored, encrypted')
  assert.deepEqual(jsonLines<Message>(await ok(alice, 'log', '--json', '--reverse', '--limit', '1')).map((m) => m.key), [stored[1]!.key])

  // Follow bob, connect to him: his posts arrive while both run.
  const [contact] = jsonLines<Message>(await ok(alice, 'follow', bobId))
  assert.deepEqual(contact!.value.content, { type: 'contact', contact: bobId, following: true })
  await ok(bob, 'publish', '--type', 'post', '--text', 'hello from bob')
  assert.equal(await ok(alice, 'connect', bobs.ready.address), `connected to ${bobId} at ${bobs.ready.address} (remembered)\n`)
  await running.lineWhere((line) => line.event === 'replicated' && line.feed === bobId)
  assert.match(await ok(alice, 'log', '--author', bobId), /post: hello from bob\n$/)

  const status = JSON.parse(await ok(alice, 'status', '--json')) as PeerStatus
  assert.equal(status.id, aliceId)
  const [link] = status.peers
  assert.deepEqual([status.peers.length, link!.id, link!.kind, link!.inbound], [1, bobId, 'manual', false])
  assert.ok(link!.messagesReceived >= 1 && link!.bytesIn > 0 && link!.bytesOut > 0)
  assert.equal(status.remembered, 1)
  const human = await ok(alice, 'status')
  assert.match(human, new RegExp(`^${escape(aliceId)} listening on net:127\\.0\\.0\\.1:\\d+~shs:`))
  assert.match(human, /^1 peer connected, 1 peer remembered:$/m)
  assert.match(human, new RegExp(`^  ${escape(bobId)}  manual +out  ${escape(bobs.ready.address)}  for \\d+s  \\d+ messages?  [\\d.]+ k?B in  [\\d.]+ k?B out$`, 'm'))
  assert.match(human, /^replicating 2 feeds, 0 behind$/m, 'alice and bob')
  assert.match(human, /^received \d+ messages?, .* messages\/s, .*\/s in, .*\/s out$/m)

  const [unfollowed] = jsonLines<Message>(await ok(alice, 'follow', bobId, '--unfollow'))
  assert.deepEqual(unfollowed!.value.content, { type: 'contact', contact: bobId, following: false })

  // Any method of the running peer, by name: JSON out, sources as JSON lines.
  assert.equal(JSON.parse(await ok(alice, 'latestSequence', aliceId)), 4)
  assert.equal(JSON.parse(await ok(alice, 'friends.isFollowing', '--source', aliceId, '--dest', bobId)), false)
  const history = jsonLines<{ key: string; value: { sequence: number } }>(await ok(alice, 'createHistoryStream', '--id', aliceId, '--limit', '3', '--keys'))
  assert.deepEqual(history.map((m) => m.value.sequence), [1, 2, 3])
  assert.equal(history[0]!.key, first!.key)
  assert.deepEqual((JSON.parse(await ok(alice, 'get', first!.key)) as { content: unknown }).content, { type: 'post', text: 'while running' })
  const manifest = JSON.parse(await ok(alice, 'manifest')) as Record<string, unknown>
  assert.equal(manifest.createHistoryStream, 'source')
  const dbPeers = JSON.parse(await ok(alice, 'conn.dbPeers')) as Array<[string, { key: string }]>
  assert.deepEqual(dbPeers.map(([address, data]) => [address, data.key]), [[bobs.ready.address, bobId]])
  assert.match(await ok(alice, 'createHistoryStream', '--help'), /^createHistoryStream is a source method of the running peer/)

  // Bad calls: one line, the right status, nothing changed.
  await fails(alice, 2, ['bogusMethod'], /^hearsay: unknown command "bogusMethod" .*nor a method of the running peer/)
  await fails(alice, 2, ['friends'], /friends is a group of methods: friends\.follow, /)
  await fails(alice, 2, ['gossip.ping'], /gossip\.ping is a duplex method: it cannot be called from the command line/)
  await fails(alice, 2, ['latestSequence', 'nobody'], /^hearsay: latestSequence: not a feed id/)
  await fails(alice, 1, ['get', `%${'A'.repeat(43)}=.sha256`], /^hearsay: get: not found/)
  await fails(alice, 2, ['createHistoryStream', '--id', aliceId, '--limit', 'lots'], /limit must be an integer/)
  await fails(alice, 2, ['connect', bobs.ready.address, '--kind', 'carrier-pigeon'], /^hearsay: conn\.connect: type must be one of manual, pub, lan, room/)
  await fails(alice, 2, ['connect', running.ready.address], /our own address/)
  await fails(alice, 2, ['publish', '--type', 'x'], /content type must be 3–52 characters/)
  assert.equal(JSON.parse(await ok(alice, 'latestSequence', aliceId)), 4, 'nothing was published by the failures')

  // Remembered across a restart: the new run dials bob by itself.
  assert.equal(await running.stop(), 0)
  const again = await startHearsay(t, alice)
  await again.lineWhere((line) => line.event === 'connected' && line.peer === bobId)
  assert.equal((JSON.parse(await ok(alice, 'conn.disconnect', bobId)) as number), 1)
  assert.equal(JSON.parse(await ok(alice, 'conn.forget', bobs.ready.address)), true)
  assert.deepEqual(JSON.parse(await ok(alice, 'conn.dbPeers')), [])
  assert.equal(await again.stop(), 0)
  assert.equal(await bobs.stop(), 0)
})

test('a peer that died leaves a stale socket: commands fall back to the store, and say no peer runs', async (t) => {
  const root = await tempDir(t, 'hearsay-stale-')
  const dataDir = path.join(root, 'data')
  const id = (await ok(dataDir, 'init')).trim()
  const running = await startHearsay(t, dataDir)
  await ok(dataDir, 'publish', '--type', 'post', '--text', 'before the crash')
  await running.kill()

  await fails(dataDir, 1, ['status'], /^hearsay: no peer is running on .*: start one with `hearsay start`/)
  await fails(dataDir, 2, ['latestSequence', id], /no peer is running/)
  assert.equal(await ok(dataDir, 'whoami'), `${id}\n`)
  await ok(dataDir, 'publish', '--type', 'post', '--text', 'after the crash')
  assert.match(await ok(dataDir, 'log'), /before the crash\n.*after the crash\n$/)

  // Something else where the socket goes is not a peer either.
  await rm(path.join(dataDir, 'socket'))
  await writeFile(path.join(dataDir, 'socket'), 'not a socket')
  await fails(dataDir, 1, ['status'], /no peer is running/)
  assert.match(await ok(dataDir, 'log'), /after the crash\n$/)
  // And the next start replaces it.
  const next = await startHearsay(t, dataDir)
  assert.equal(JSON.parse(await ok(dataDir, 'latestSequence', id)), 2)
  assert.equal(await next.stop(), 0)
  const result = await hearsay(dataDir, 'status')
  assert.equal(result.code, 1)
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
