// Invites and pub mode from the command line: `hearsay start --pub --external`, then
// `hearsay invite.create` on the pub and `hearsay invite.use CODE` on a newcomer, both through
// the running peers' local sockets; and the start flags' validation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { EXIT_FAILURE, EXIT_USAGE } from './errors.ts'
import { fails, ok, startHearsay, tempDir } from './test-helpers.ts'

function contentsOf(stdout: string): unknown[] {
  return stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { value: { content: unknown } }).value.content)
}

test('a pub started with --pub announces itself once, and its invite codes bring newcomers in', async (t) => {
  const root = await tempDir(t, 'hearsay-invite-')
  const pub = path.join(root, 'pub')
  const newcomer = path.join(root, 'newcomer')
  const late = path.join(root, 'late')
  const running = await startHearsay(t, pub, '--pub', '--external', '127.0.0.1', '--max-connections', '3', '--no-lan')
  const port = Number(/:(\d+)~/.exec(running.ready.address)![1])
  assert.deepEqual(contentsOf(await ok(pub, 'log', '--json')), [{ type: 'pub', address: { host: '127.0.0.1', port, key: running.ready.id } }])

  const code = JSON.parse(await ok(pub, 'invite.create', '--uses', '1', '--note', 'welcome')) as string
  assert.match(code, new RegExp(`^127\\.0\\.0\\.1:${port}:@[A-Za-z0-9+/]{43}=\\.ed25519~[A-Za-z0-9+/]{43}=$`))
  await fails(pub, EXIT_USAGE, ['invite.create', '--uses', '0'], /uses must be a whole number/)

  await startHearsay(t, newcomer, '--no-lan')
  const redeemed = JSON.parse(await ok(newcomer, 'invite.use', code)) as { pub: string; address: string }
  assert.equal(redeemed.pub, running.ready.id)
  assert.equal(redeemed.address, running.ready.address)
  assert.deepEqual(contentsOf(await ok(newcomer, 'log', '--json')), [
    { type: 'contact', following: true, autofollow: true, contact: running.ready.id },
    { type: 'pub', address: { host: '127.0.0.1', port, key: running.ready.id } },
  ])
  await running.lineWhere((line) => line.event === 'replicated' && line.feed !== running.ready.id)

  await startHearsay(t, late, '--no-lan')
  await fails(late, EXIT_FAILURE, ['invite.use', code], /used up/)
  await fails(late, EXIT_USAGE, ['invite.use', 'not-a-code'], /not an invite code/)
})

test('invite.create needs a public address, and start checks --pub, --external and --max-connections', async (t) => {
  const dir = await tempDir(t, 'hearsay-invite-')
  await startHearsay(t, dir, '--no-lan')
  await fails(dir, EXIT_FAILURE, ['invite.create'], /--external/)
  const other = await tempDir(t, 'hearsay-invite-')
  await fails(other, EXIT_USAGE, ['start', '--pub'], /--pub needs a public address/)
  await fails(other, EXIT_USAGE, ['start', '--max-connections', '0'], /--max-connections must be a whole number from 1/)
  await fails(other, EXIT_USAGE, ['start', '--max-connections', 'many'], /--max-connections/)
  await fails(other, EXIT_USAGE, ['start', '--external', 'pub example'], /--external must be a host name/)
})
