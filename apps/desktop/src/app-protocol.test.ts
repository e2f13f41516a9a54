import { test } from 'node:test'
import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAppProtocolHandler } from './app-protocol.ts'
import { CONTENT_SECURITY_POLICY } from './security.ts'

async function rendererFixture(t: { after(fn: () => Promise<void>): void }) {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-app-protocol-'))
  t.after(() => fs.rm(base, { recursive: true, force: true }))
  const rendererDir = path.join(base, 'dist')
  await fs.mkdir(path.join(rendererDir, 'assets'), { recursive: true })
  await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>Hearsay</title>')
  await fs.writeFile(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
  // What a traversal would be after: files beside and above the renderer.
  await fs.writeFile(path.join(base, 'secret.txt'), 'do not serve')
  await fs.writeFile(path.join(base, 'dist-secret.txt'), 'do not serve either')
  // Stands in for Electron's net.fetch on file: URLs; records every file asked for.
  const fetched: string[] = []
  const fetchFile = async (url: string) => {
    const file = fileURLToPath(url)
    fetched.push(file)
    try {
      return new Response(await fs.readFile(file), { headers: { 'Content-Type': file.endsWith('.js') ? 'text/javascript' : 'text/html' } })
    } catch {
      return new Response(null, { status: 404 })
    }
  }
  return { rendererDir, fetched, handler: createAppProtocolHandler(rendererDir, fetchFile) }
}

test('serves the built renderer with the CSP on every answer', async (t) => {
  const { handler } = await rendererFixture(t)
  for (const url of ['hearsay-app://renderer/', 'hearsay-app://renderer/index.html', 'hearsay-app://renderer/index.html?x=1#/thread']) {
    const response = await handler(new Request(url))
    assert.equal(response.status, 200, url)
    assert.equal(await response.text(), '<!doctype html><title>Hearsay</title>')
    assert.equal(response.headers.get('Content-Security-Policy'), CONTENT_SECURITY_POLICY)
    assert.equal(response.headers.get('X-Content-Type-Options'), 'nosniff')
  }
  const script = await handler(new Request('hearsay-app://renderer/assets/app.js'))
  assert.equal(script.status, 200)
  assert.equal(script.headers.get('Content-Type'), 'text/javascript')
  assert.equal(await script.text(), 'console.log(1)')
})

test('never touches a file outside the renderer folder', async (t) => {
  const { handler, fetched, rendererDir } = await rendererFixture(t)
  const attempts = [
    'hearsay-app://renderer/../secret.txt',
    'hearsay-app://renderer/%2e%2e/secret.txt',
    'hearsay-app://renderer/..%2fsecret.txt',
    'hearsay-app://renderer/assets/..%2F..%2Fsecret.txt',
    'hearsay-app://renderer/..%5csecret.txt',
    'hearsay-app://renderer/%5c..%5c..%5csecret.txt',
    'hearsay-app://renderer/index.html%00.js',
    'hearsay-app://renderer/%E0%A4%A',
    'hearsay-app://renderer/../dist-secret.txt',
    'hearsay-app://renderer//etc/passwd',
    'hearsay-app://other/index.html',
    'hearsay-app://renderer:1/index.html',
    'hearsay-app://renderer/missing.js',
  ]
  for (const url of attempts) {
    const response = await handler(new Request(url))
    assert.equal(response.status, 404, url)
    assert.equal(response.headers.get('Content-Type'), 'text/plain', url)
    assert.equal(response.headers.get('Content-Security-Policy'), CONTENT_SECURITY_POLICY, `${url}: a refusal carries the CSP too`)
    assert.equal(response.headers.get('X-Content-Type-Options'), 'nosniff', url)
  }
  for (const file of fetched) assert.ok(file.startsWith(rendererDir + path.sep), `asked for ${file}`)
  const post = await handler(new Request('hearsay-app://renderer/index.html', { method: 'POST', body: 'x' }))
  assert.equal(post.status, 404)
})
