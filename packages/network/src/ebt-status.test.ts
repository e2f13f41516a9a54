// EBT notes feed the status: a peer whose vector clock claims more of a wanted feed than we hold
// shows that feed as behind, with its claimed sequence, before any message of it arrives.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import createMuxrpc from 'muxrpc'
import pull, { type Duplex } from 'pull-stream'
import { generateIdentity } from '@hearsay/keys'
import { boundedCodec } from './codec.ts'
import { MANIFEST } from './manifest.ts'
import { pushable } from './pull.ts'
import type { PeerStatus } from './status.ts'
import { Transport } from './transport.ts'
import { startPeer } from './testing/helpers.ts'

test('a peer\'s EBT clock shows in the status as feeds behind and the sequences it claims', { timeout: 20_000 }, async (t) => {
  const carol = generateIdentity()
  const dave = generateIdentity()
  const stranger = generateIdentity()
  const ours = await startPeer(t, { replicate: { feeds: [carol.id, dave.id], hops: 0 } })

  // A hand-driven EBT peer: it sends its clock and then nothing, so only its notes can tell us.
  const transport = new Transport({ identity: generateIdentity() })
  t.after(() => transport.close())
  const connection = await transport.connect(ours.peer.address!)
  const rpc = createMuxrpc(MANIFEST, {}, {}, { allow: [] }, boundedCodec())
  pull(connection.stream, rpc.stream, connection.stream)
  const notes = pushable<unknown>(() => {})
  const replicate = (rpc.ebt as { replicate(options: object): Duplex<unknown, unknown> }).replicate
  const duplex = replicate({ version: 3, format: 'classic' })
  pull(notes.source, duplex.sink)
  const heard: unknown[] = []
  pull(duplex.source, pull.drain((item) => void heard.push(item), () => {}))
  // seq << 1 | !receive: carol 40 (replicating), dave 5 (not receiving), a feed we do not want, and -1.
  notes.push({ [carol.id]: 80, [dave.id]: 11, [stranger.id]: 1000, [generateIdentity().id]: -1 })

  const behind = await new Promise<unknown>((resolve, reject) => {
    pull(ours.peer.statusStream(), pull.drain((status: PeerStatus) => {
      if (status.replication.feedsBehind < 2) return true
      resolve(status.replication.behind)
      return false
    }, (end) => reject(end instanceof Error ? end : new Error('the status stream ended'))))
  })
  assert.deepEqual(behind, [{ feed: carol.id, have: 0, claimed: 40 }, { feed: dave.id, have: 0, claimed: 5 }])
  notes.end()
})
