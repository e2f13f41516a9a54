import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { rendererDistDir } from '@hearsay/service'
import { DESKTOP_DIR } from './build.ts'
import { electronBinary } from './electron-binary.ts'

const START = fileURLToPath(new URL('./start.ts', import.meta.url))
const ROOT = path.resolve(DESKTOP_DIR, '../..')

async function tempDir(t: { after(fn: () => Promise<void>): void }, name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `hearsay-start-${name}-`))
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

/** `npm start` as the root script runs it, with Electron's binary made absent by Electron's own override. */
async function startWithoutElectron(t: { after(fn: () => Promise<void>): void }, args: string[]) {
  const noElectron = await tempDir(t, 'no-electron')
  const data = await tempDir(t, 'data')
  const child = spawn(process.execPath, ['--import', 'tsx', START, ...args], {
    cwd: ROOT,
    env: { ...process.env, HEARSAY_DATA: data, HEARSAY_HOST: '127.0.0.1', ELECTRON_OVERRIDE_DIST_PATH: noElectron },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(async () => {
    // SIGTERM, not SIGKILL: the script passes it on to the peer it started, which must not outlive the test.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await once(child, 'close')
    }
  })
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line))
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line))
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('close', (code) => reject(new Error(`npm start ended (${code}) before printing: ${stderr.join('\n')}`)))
  })
  return { child, data, stdout, stderr, firstLine }
}

test('the root start script is this one', () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  assert.equal(manifest.scripts.start, 'tsx apps/desktop/scripts/start.ts')
})

test('without the Electron binary, npm start serves the app on 127.0.0.1 and says so in one line', { timeout: 120_000 }, async (t) => {
  const { child, data, stdout, stderr, firstLine } = await startWithoutElectron(t, ['--port', '0'])
  const line = await firstLine
  const match = /^Hearsay's desktop binary \(Electron\) is not installed, so the app is served to your browser instead: open (http:\/\/127\.0\.0\.1:(\d+)\/\?secret=[\w-]{22,})$/.exec(line)
  assert.ok(match, line)
  const url = match[1]!

  const page = await fetch(url)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.equal(await page.text(), readFileSync(path.join(rendererDistDir(), 'index.html'), 'utf8'))
  // Without the secret, nothing.
  const refused = await fetch(url.replace(/\?secret=.*/, ''))
  assert.notEqual(refused.status, 200)
  await refused.body?.cancel()

  // The identity was made in the shared data directory (HEARSAY_DATA), as the CLI would.
  assert.ok((await fs.readdir(data)).includes('secret'))

  child.kill('SIGINT') // Ctrl-C, as README says
  const [code] = (await once(child, 'close')) as [number | null]
  assert.equal(code, 0, stderr.join('\n'))
  assert.deepEqual(stdout, [line], 'one line, and only one')
  assert.deepEqual(stderr.filter((entry) => entry.includes('secret=')), [], 'the address is not printed twice')
})

test('a bad argument ends npm start with the command line’s own clear error', { timeout: 60_000 }, async (t) => {
  const { child, stdout, stderr, firstLine } = await startWithoutElectron(t, ['--port', 'eighty'])
  await assert.rejects(firstLine)
  assert.notEqual(child.exitCode, 0)
  assert.deepEqual(stdout, [])
  assert.match(stderr.join('\n'), /--port must be a whole number/)
})

test('the Electron binary is found only where it really is', async (t) => {
  const empty = await tempDir(t, 'electron-empty')
  assert.equal(electronBinary({ ELECTRON_OVERRIDE_DIST_PATH: empty }), null)
  const present = await tempDir(t, 'electron-present')
  const executable = path.join(present, 'electron')
  await fs.writeFile(executable, '')
  await fs.chmod(executable, 0o755)
  // On Linux the `electron` package names its executable `electron`.
  if (process.platform === 'linux') assert.equal(electronBinary({ ELECTRON_OVERRIDE_DIST_PATH: present }), executable)
})
