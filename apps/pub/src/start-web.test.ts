// `hearsay start --web` as a user runs it: the browser address on one line of stderr and in the
// JSON ready line, serving the built renderer (packages/renderer/dist: build it first).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const binPath = fileURLToPath(new URL('../bin/hearsay.js', import.meta.url))

test('hearsay start --web prints the secret-bearing address, which serves the app; stop is clean', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hearsay-web-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const child = spawn(process.execPath, [binPath, 'start', '--port', '0', '--web', '0'], { env: { ...process.env, HEARSAY_DATA: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let stderr = ''
  const announced = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr += `${line}\n`
      const match = /^Hearsay is open at (http:\/\/127\.0\.0\.1:\d+\/\?secret=\S+)$/.exec(line)
      if (match) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`hearsay start exited before announcing its address: ${stderr}`)))
  })
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>
      if (parsed.event === 'ready') resolve(parsed)
    })
  })
  const url = await announced
  assert.equal((await ready).web, url)

  const page = await fetch(url)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<html|<!doctype html/i)
  assert.equal((await fetch(url.replace(/\?secret=.*/, ''))).status, 401)

  child.kill('SIGTERM')
  assert.equal(await exited, 0)
})

test('hearsay start refuses a port argument without --web, and a bad web port', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(process.execPath, [binPath, 'start', ...args], (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr })),
    )
  const stray = await run(['8080'])
  assert.equal(stray.code, 2)
  assert.match(stray.stderr, /only --web takes a port/)
  const bad = await run(['--web', 'lots'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--web must be a whole number/)
})
