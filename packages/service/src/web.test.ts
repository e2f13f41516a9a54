// Web mode against real HTTP and WebSocket clients on 127.0.0.1, playing the hostile parties:
// a request without the secret, with a wrong one, from another website (Origin), through a
// DNS-rebinding name (Host), and a bridge asked to listen beyond loopback.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { WebSocket } from 'ws'
import type { Response } from '@hearsay/client-api'
import { MAX_WS_MESSAGE, startWebBridge, type WebBridge } from './web.ts'
import { bridgeClient, openBridgeSocket } from './web-client.ts'
import { defer, startTestApp, tempDir, type Teardown } from './testing.ts'
import type { App } from './app.ts'

const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

async function fakeRenderer(t: Teardown): Promise<string> {
  const dir = path.join(await tempDir(t), 'dist')
  await mkdir(path.join(dir, 'assets'), { recursive: true })
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>')
  await writeFile(path.join(dir, 'assets', 'app.js'), 'console.log("app")')
  await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  await writeFile(path.join(dir, '.env'), 'SECRET=1')
  await writeFile(path.join(path.dirname(dir), 'outside.txt'), 'not for the web')
  return dir
}

async function bridge(t: Teardown): Promise<{ app: App; web: WebBridge; secret: string; port: number }> {
  const app = await startTestApp(t)
  const web = await startWebBridge(app, { rendererDir: await fakeRenderer(t) })
  defer(t, () => web.close())
  const url = new URL(web.url)
  return { app, web, secret: url.searchParams.get('secret')!, port: web.port }
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

function get(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: pathAndQuery, method: 'GET', headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    request.on('error', reject)
    request.end()
  })
}

function openSocket(port: number, query: string, headers: Record<string, string> = {}, origin?: string): Promise<WebSocket | number> {
  return openBridgeSocket(`ws://127.0.0.1:${port}/api${query}`, { headers, ...(origin ? { origin } : {}) })
}

test('the page needs the secret; loading it sets a strict cookie that then opens assets and blobs', { timeout: 30_000 }, async (t) => {
  const { secret, port, app } = await bridge(t)
  assert.equal((await get(port, '/')).status, 401)
  assert.equal((await get(port, `/?secret=${secret.slice(0, -1)}x`)).status, 401)
  assert.equal((await get(port, '/?secret=')).status, 401)

  const page = await get(port, `/?secret=${secret}`)
  assert.equal(page.status, 200)
  assert.match(page.body.toString(), /assets\/app\.js/)
  const csp = String(page.headers['content-security-policy'])
  for (const directive of ["default-src 'self'", "script-src 'self'", `connect-src ws://127.0.0.1:${port}`, "frame-ancestors 'none'", "object-src 'none'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`)
  }
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('http:') && !csp.includes('https:'))
  assert.equal(page.headers['x-content-type-options'], 'nosniff')
  const cookie = String(page.headers['set-cookie'])
  assert.match(cookie, /HttpOnly/)
  assert.match(cookie, /SameSite=Strict/)
  assert.ok(!cookie.includes(secret), 'the cookie is not the secret')
  const session = cookie.split(';')[0]!

  // Assets: with the cookie (or the secret), never without; nothing outside the build, no dotfiles.
  assert.equal((await get(port, '/assets/app.js')).status, 401)
  const script = await get(port, '/assets/app.js', { Cookie: session })
  assert.equal(script.status, 200)
  assert.match(String(script.headers['content-type']), /^text\/javascript/)
  // Vite's content-hashed assets are kept for good; the page (naming the current bundle), unhashed
  // files and refusals are never stored, so a rebuilt app or a revoked session shows at once.
  assert.equal(script.headers['cache-control'], 'private, max-age=31536000, immutable')
  assert.equal(page.headers['cache-control'], 'no-store')
  assert.equal((await get(port, '/favicon.svg', { Cookie: session })).headers['cache-control'], 'no-store')
  assert.equal((await get(port, '/assets/app.js')).headers['cache-control'], 'no-store')
  assert.equal((await get(port, '/assets/app.js', { Cookie: 'hearsay-1=forged' })).status, 401)
  for (const sneaky of ['/../outside.txt', '/%2e%2e/outside.txt', '/assets/..%2f..%2foutside.txt', '/.env', '/assets/%00x']) {
    const reply = await get(port, sneaky, { Cookie: session })
    assert.ok(reply.status === 404 || reply.status === 400, `${sneaky} gave ${reply.status}`)
    assert.ok(!reply.body.toString().includes('not for the web') && !reply.body.toString().includes('SECRET'))
  }

  // Blobs: only valid ids from the store; images by their bytes, the rest as downloads; sandboxed.
  const image = await app.handlers.addBlob({ base64: PNG_1X1.toString('base64'), mimeType: 'image/png' })
  const html = await app.handlers.addBlob({ base64: Buffer.from('<script>alert(1)</script>').toString('base64'), mimeType: 'text/html' })
  assert.equal((await get(port, `/blobs/${encodeURIComponent(image.id)}`)).status, 401)
  const png = await get(port, `/blobs/${encodeURIComponent(image.id)}`, { Cookie: session })
  assert.equal(png.status, 200)
  assert.equal(png.headers['content-type'], 'image/png')
  assert.deepEqual(png.body, PNG_1X1)
  assert.match(String(png.headers['content-security-policy']), /sandbox/)
  const download = await get(port, `/blobs/${encodeURIComponent(html.id)}?secret=${secret}`)
  assert.equal(download.headers['content-type'], 'application/octet-stream')
  assert.equal(download.headers['content-disposition'], 'attachment')
  assert.equal((await get(port, '/blobs/not-a-blob', { Cookie: session })).status, 400)
  assert.equal((await get(port, `/blobs/${encodeURIComponent(`&${'A'.repeat(43)}=.sha256`)}`, { Cookie: session })).status, 404)
})

test('foreign Hosts (DNS rebinding) and foreign Origins are refused, even with the secret', { timeout: 30_000 }, async (t) => {
  const { secret, port } = await bridge(t)
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `localhost.evil.example:${port}`, `127.0.0.1:${port}.evil.example`]) {
    assert.equal((await get(port, `/?secret=${secret}`, { Host: host })).status, 421, host)
    assert.equal(await openSocket(port, `?secret=${secret}`, { Host: host }), 421, host)
  }
  assert.equal((await get(port, `/?secret=${secret}`, { Host: `localhost:${port}` })).status, 200)
  for (const origin of ['http://evil.example', `http://127.0.0.1:${port + 1}`, 'null', `https://127.0.0.1:${port}`]) {
    assert.equal((await get(port, `/?secret=${secret}`, { Origin: origin })).status, 403, origin)
    assert.equal(await openSocket(port, `?secret=${secret}`, {}, origin), 403, origin)
  }
  assert.equal((await get(port, `/?secret=${secret}`, { 'Sec-Fetch-Site': 'cross-site' })).status, 403)
})

test('a request naming two hosts (a second Host, an absolute-form target) is refused', { timeout: 30_000 }, async (t) => {
  const { secret, port } = await bridge(t)
  const ours = `127.0.0.1:${port}`
  const statusOf = (head: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(`${head}\r\nConnection: close\r\n\r\n`))
      let answer = ''
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
      socket.on('end', () => resolve(answer.split('\r\n')[0]!))
      socket.on('error', reject)
    })
  assert.equal(await statusOf(`GET /?secret=${secret} HTTP/1.1\r\nHost: ${ours}`), 'HTTP/1.1 200 OK', 'control: one Host, ours')
  assert.match(await statusOf(`GET /?secret=${secret} HTTP/1.1\r\nHost: ${ours}\r\nHost: evil.example`), /^HTTP\/1\.1 421 /)
  assert.match(await statusOf(`GET /?secret=${secret} HTTP/1.1\r\nHost: ${ours}\r\nhost: ${ours}`), /^HTTP\/1\.1 421 /)
  assert.match(await statusOf(`GET http://evil.example/?secret=${secret} HTTP/1.1\r\nHost: ${ours}`), /^HTTP\/1\.1 421 /)
  assert.match(await statusOf(`GET http://${ours}/?secret=${secret} HTTP/1.1\r\nHost: ${ours}`), /^HTTP\/1\.1 421 /)
})

test('the WebSocket needs the secret; with it, the client API works end to end', { timeout: 30_000 }, async (t) => {
  const { secret, port, app } = await bridge(t)
  assert.equal(await openSocket(port, ''), 401)
  assert.equal(await openSocket(port, '?secret=wrong'), 401)
  const socket = await openSocket(port, `?secret=${secret}`, {}, `http://127.0.0.1:${port}`)
  assert.ok(socket instanceof WebSocket)
  defer(t, () => socket.terminate())

  const client = bridgeClient(socket)
  assert.equal((await client.setup()).id, app.id)
  const post = await client.publishPost({ text: 'from the browser' })
  assert.deepEqual((await client.homeFeed()).items.map((p) => p.id), [post.id])
  await assert.rejects(client.publishPost({ text: '' }), { code: 'EAPI_BAD_ARGUMENT' })

  // Garbage is answered, not fatal.
  const answered = new Promise<Response>((resolve) => socket.once('message', (data) => resolve(JSON.parse(data.toString()) as Response)))
  socket.send('{not json')
  assert.deepEqual(await answered, { type: 'error', id: -1, error: { name: 'SyntaxError', code: 'EAPI_BAD_REQUEST', message: 'a request must be JSON' } })
  assert.equal((await client.setup()).id, app.id)

  // An oversize message closes the socket (1009) and fails what was pending.
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))
  socket.send('x'.repeat(MAX_WS_MESSAGE + 1))
  assert.equal(await closed, 1009)
  await assert.rejects(client.setup(), { code: 'EAPI_DISCONNECTED' })
})

test('the bridge listens on 127.0.0.1 only and refuses to start without a built renderer', async (t) => {
  const app = await startTestApp(t)
  const rendererDir = await fakeRenderer(t)
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'localhost']) {
    await assert.rejects(startWebBridge(app, { rendererDir, host }), { code: 'EWEB_HOST' })
  }
  await assert.rejects(startWebBridge(app, { rendererDir: path.join(rendererDir, 'missing') }), { code: 'EWEB_RENDERER_MISSING', message: /not built/ })
  const web = await startWebBridge(app, { rendererDir, host: '127.0.0.1' })
  defer(t, () => web.close())
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/\?secret=[A-Za-z0-9_-]{43}$/)
})
