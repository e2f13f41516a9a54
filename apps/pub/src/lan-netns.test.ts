// Two `hearsay start` peers on a LAN of their own: each in its own network namespace, joined by
// a veth pair (10.77.0.1/24 and 10.77.0.2/24 exist inside the namespaces only). They are given
// no address of each other: they meet by LAN discovery alone (ssb-lan beacons, mDNS), then
// replicate because one follows the other. The namespaces are made and removed here.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import type { PeerStatus } from '@hearsay/network'
import { ok, startHearsayWrapped, tempDir, type Line, type RunningHearsay } from './test-helpers.ts'

const run = promisify(execFile)

async function ip(...args: string[]): Promise<void> {
  await run('ip', args)
}

/** Why namespaces cannot be made here, or null when they can (made and removed to find out). */
async function namespacesForbidden(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`
  const probe = `hsprobe${process.pid}`
  try {
    await ip('netns', 'add', probe)
  } catch (err) {
    return `\`ip netns add\` failed (${(err as { stderr?: string }).stderr?.trim() || (err as Error).message})`
  }
  await ip('netns', 'del', probe)
  return null
}

test('two peers in separate network namespaces find each other by LAN discovery alone and replicate', { timeout: 90_000 }, async (t) => {
  const forbidden = await namespacesForbidden()
  if (forbidden) {
    process.stdout.write(`# skipped: ${forbidden}\n`)
    t.skip(forbidden)
    return
  }
  const dir = await tempDir(t, 'hearsay-netns-')
  const [nsA, nsB] = [`hsa${process.pid}`, `hsb${process.pid}`]
  const made: string[] = []
  const running: RunningHearsay[] = []
  try {
    for (const ns of [nsA, nsB]) {
      await ip('netns', 'add', ns)
      made.push(ns)
    }
    await ip('link', 'add', `hsva${process.pid}`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `hsvb${process.pid}`, 'netns', nsB)
    for (const [ns, dev, address] of [[nsA, `hsva${process.pid}`, '10.77.0.1/24'], [nsB, `hsvb${process.pid}`, '10.77.0.2/24']] as const) {
      await ip('-n', ns, 'addr', 'add', address, 'dev', dev)
      await ip('-n', ns, 'link', 'set', dev, 'up')
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
    }

    // 0.0.0.0: reachable from the LAN, so discovery is on (by default, no flag for it).
    const dataA = path.join(dir, 'a')
    const dataB = path.join(dir, 'b')
    const alice = await startHearsayWrapped(t, ['ip', 'netns', 'exec', nsA], dataA, '--host', '0.0.0.0')
    running.push(alice)
    const bob = await startHearsayWrapped(t, ['ip', 'netns', 'exec', nsB], dataB, '--host', '0.0.0.0')
    running.push(bob)

    // The CLI reaches each running peer through the unix socket in its data directory, which
    // is on the shared filesystem, not the network.
    await ok(dataB, 'follow', alice.ready.id)
    // A post with a picture: the blob travels over the LAN connection too. (That bob fetches
    // linked blobs by himself is shown in packages/service; here `blobs.want` is only the wait.)
    const picture = path.join(dir, 'picture.bin')
    const bytes = randomBytes(100_000)
    await writeFile(picture, bytes)
    const blob = (await ok(dataA, 'blobs.add', picture)).trim()
    const content = { type: 'post', text: `hello over the LAN ![picture](${blob})`, mentions: [{ link: blob, name: 'picture' }] }
    const post = JSON.parse(await ok(dataA, 'publish', '--json', JSON.stringify(content))) as { key: string; value: { sequence: number } }
    await bob.lineWhere((line: Line) => line.event === 'replicated' && line.feed === alice.ready.id && Number(line.sequence) >= post.value.sequence)
    assert.ok((await ok(dataB, 'log', '--author', alice.ready.id, '--json')).includes(post.key))
    const copy = path.join(dir, 'copy.bin')
    await ok(dataB, 'blobs.want', blob) // resolves once bob has it
    await ok(dataB, 'blobs.get', blob, '--out', copy)
    assert.ok((await readFile(copy)).equals(bytes))

    // Each side shows the other as a LAN peer, at its namespace address.
    for (const [self, other, address] of [[dataA, bob, '10.77.0.2'], [dataB, alice, '10.77.0.1']] as const) {
      const status = JSON.parse(await ok(self, 'status', '--json')) as PeerStatus
      const peer = status.peers.find((entry) => entry.id === other.ready.id)
      assert.ok(peer, `connected to ${other.ready.id}`)
      assert.equal(peer.kind, 'lan')
      if (!peer.inbound) assert.match(peer.address, new RegExp(`^net:${address.replaceAll('.', '\\.')}:\\d+~shs:`))
    }
    // Our own beacons come back to us (broadcasts loop back): never dialled.
    for (const peer of [alice, bob]) {
      assert.ok(!peer.lines.some((line) => line.event === 'connect-failed' && String(line.address).endsWith(peer.ready.id.slice(1, -8))), 'dialled itself')
    }
    for (const peer of running.splice(0)) assert.equal(await peer.stop(), 0)
  } finally {
    await Promise.all(running.map((peer) => peer.kill()))
    for (const ns of made) await ip('netns', 'del', ns).catch(() => undefined)
  }
})
