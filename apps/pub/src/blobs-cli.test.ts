// `hearsay blobs.add` / `blobs.get` against a running `hearsay start`, as a user runs them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { toBlobId } from '@hearsay/keys'
import { binPath, fails, ok, startHearsay, tempDir } from './test-helpers.ts'

function idOf(bytes: Uint8Array): string {
  return toBlobId(createHash('sha256').update(bytes).digest())
}

/** `hearsay ...args` with its stdout as bytes. */
function hearsayBytes(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [binPath, ...args], { env: { ...process.env, HEARSAY_DATA: dataDir }, encoding: 'buffer' }, (err, stdout, stderr) => {
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr: stderr.toString() })
    })
  })
}

test('blobs.add stores a file in the running peer and prints its id; blobs.get gives the bytes back', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t)
  const data = path.join(dir, 'data')
  const file = path.join(dir, 'picture.bin')
  const bytes = randomBytes(200_000)
  await writeFile(file, bytes)
  // No peer running yet: a clear error, not a crash.
  await fails(data, 1, ['blobs.add', file], /no peer is running on/)
  const running = await startHearsay(t, data)

  const id = (await ok(data, 'blobs.add', file)).trim()
  assert.equal(id, idOf(bytes))
  assert.equal((await ok(data, 'blobs.has', id)).trim(), 'true')

  const out = path.join(dir, 'copy.bin')
  assert.equal(await ok(data, 'blobs.get', id, '--out', out), '')
  assert.ok((await readFile(out)).equals(bytes))
  const piped = await hearsayBytes(data, 'blobs.get', id)
  assert.equal(piped.code, 0, piped.stderr)
  assert.ok(piped.stdout.equals(bytes))

  // Bad input: clear errors, nothing written.
  await fails(data, 2, ['blobs.add'], /needs the FILE/)
  await fails(data, 1, ['blobs.add', path.join(dir, 'missing')], /cannot read .*missing/)
  await fails(data, 1, ['blobs.add', dir], /not a regular file/)
  await fails(data, 2, ['blobs.get', '&not-a-blob.sha256'], /not a blob id/)
  const absent = idOf(Buffer.from('nobody has this'))
  const lost = path.join(dir, 'lost.bin')
  await fails(data, 1, ['blobs.get', absent, '--out', lost], /blobs\.get: /)
  await fails(data, 1, ['blobs.get', id, '--out', path.join(dir, 'no-such-dir', 'x.bin')], /cannot write/)
  assert.deepEqual((await readdir(dir)).sort(), ['copy.bin', 'data', 'picture.bin'], 'no partial files left')
  assert.equal(await running.stop(), 0)
})
