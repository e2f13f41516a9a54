// The shs1-test suite against our secret handshake, both roles: the harness spawns a program
// that handshakes over stdin/stdout (testing/shs1-*.ts, through the transport's createShs) 45
// times per role, well-behaved and not, and checks every byte and the derived keys.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { tempDir } from './testing/helpers.ts'

const require = createRequire(import.meta.url)
const harness = path.dirname(require.resolve('shs1-test/package.json'))
const tsx = import.meta.resolve('tsx')

async function runSuite(t: { after(fn: () => unknown): void }, role: 'server' | 'client'): Promise<{ code: number | null; output: string }> {
  const dir = await tempDir(t, 'hearsay-shs1-')
  const program = path.join(dir, role)
  const script = path.join(import.meta.dirname, 'testing', `shs1-${role}.ts`)
  await writeFile(program, `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${script}" "$@"\n`)
  await chmod(program, 0o755)
  const child = spawn(process.execPath, [path.join(harness, `test-${role}.js`), program], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, output }
}

for (const role of ['server', 'client'] as const) {
  test(`shs1-test: our handshake passes all 45 ${role} tests`, async (t) => {
    const { code, output } = await runSuite(t, role)
    // The harness exits with the number of failed tests.
    assert.equal(code, 0, output)
    assert.match(output, new RegExp(`Passed the ${role} test suite`))
  })
}
