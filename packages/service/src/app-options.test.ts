// startApp's peer options reach the peer: maxConnections bounds who may connect.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp } from './testing.ts'

test('maxConnections bounds the peers connected to the app at once', async (t) => {
  const bounded = await startTestApp(t, { maxConnections: 1 })
  const first = await startTestApp(t)
  const second = await startTestApp(t)
  await first.peer.connect(bounded.peer.address!)
  // At its bound, the app refuses the next key at the handshake.
  await assert.rejects(second.peer.connect(bounded.peer.address!))
  assert.deepEqual(bounded.peer.connections.filter((c) => !c.local).map((c) => c.id), [first.id])
})

test('startApp refuses a maxConnections that is no count', async (t) => {
  await assert.rejects(startTestApp(t, { maxConnections: 0 }), /max connections/)
})
