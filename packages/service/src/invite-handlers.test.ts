// useInvite through the client API handlers: two apps on 127.0.0.1, one a pub (pub mode, with an
// external name) whose code the other redeems; bad codes come back with their EINVITE codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, waitForSequence } from './testing.ts'

test('the app redeems a pub\'s invite through useInvite; malformed and spent codes get clear errors', async (t) => {
  const pub = await startTestApp(t, { external: '127.0.0.1', pub: true })
  // Pub mode announced its address once, with the external name.
  const announced = []
  for await (const message of pub.store.readFeed(pub.id)) announced.push(message.value.content)
  assert.equal(announced.length, 1)
  assert.deepEqual((announced[0] as { type: string }).type, 'pub')

  const code = await pub.peer.createInvite()
  const newcomer = await startTestApp(t)
  const result = await newcomer.handlers.useInvite(code)
  assert.deepEqual(result, { pub: pub.id, address: pub.peer.address })
  await waitForSequence(pub, newcomer.id, 2)
  assert.ok((await newcomer.handlers.profile(pub.id)).youFollow)

  const another = await startTestApp(t)
  await assert.rejects(another.handlers.useInvite(code), (err: { code?: string }) => err.code === 'EINVITE_USED_UP')
  await assert.rejects(another.handlers.useInvite('garbage'), (err: { code?: string }) => err.code === 'EINVITE_MALFORMED')
  await assert.rejects(another.handlers.useInvite(42 as unknown as string), (err: { code?: string }) => err.code === 'EAPI_BAD_ARGUMENT')
})

test('pub mode refuses to start without a public address', async (t) => {
  await assert.rejects(startTestApp(t, { pub: true }), /needs a public address/)
})
