import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BackendReport } from './channels.ts'

const ENTRY = fileURLToPath(new URL('../entry/utility.mjs', import.meta.url))

// Electron gives a utility process `process.parentPort`; plain Node does not. This shim makes one
// from Node's fork IPC channel (which carries messages but not ports), enough to run the real
// entry file in its own process: start, report, stop.
const PARENT_PORT_SHIM = `
process.parentPort = {
  on(event, listener) { process.on(event, (data) => listener({ data, ports: [] })) },
  postMessage(message) { process.send(message) },
}
`

test('the utility process entry starts the peer on the shared data directory and stops cleanly', { timeout: 120_000 }, async (t) => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-utility-entry-'))
  t.after(() => fs.rm(base, { recursive: true, force: true }))
  const shim = path.join(base, 'parent-port-shim.mjs')
  await fs.writeFile(shim, PARENT_PORT_SHIM)
  const dataDir = path.join(base, 'data')

  const child = fork(ENTRY, [], { env: { ...process.env, HEARSAY_DATA: dataDir, HEARSAY_HOST: '127.0.0.1' }, execArgv: ['--import', shim], stdio: 'pipe' })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [report] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the entry exited (${code}): ${stderr}`))),
  ])) as [BackendReport]

  assert.equal(report.type, 'ready', JSON.stringify(report))
  assert.ok(report.type === 'ready')
  assert.equal(report.blobsDir, path.join(dataDir, 'blobs'))
  assert.match(report.id, /^@[A-Za-z0-9+/]{43}=\.ed25519$/)
  const secret = await fs.readFile(path.join(dataDir, 'secret'), 'utf8')
  assert.ok(secret.includes(report.id), 'the identity the peer runs is the one in the data directory')

  child.send({ type: 'stop' })
  const [code] = (await once(child, 'exit')) as [number | null]
  assert.equal(code, 0, stderr)
})
