import { test } from 'node:test'
import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openBlobStore } from '@hearsay/blobs'
import { blobIdFromUrl, createBlobProtocolHandler } from './blob-protocol.ts'

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'), Buffer.from([0xff, 0xd9])])
const HTML = Buffer.from('<!doctype html><script>alert(document.cookie)</script>')
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')

const blobUrl = (id: string) => `hearsay-blob://${encodeURIComponent(id)}`

async function blobFixture(t: { after(fn: () => Promise<void>): void }) {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-blob-protocol-'))
  t.after(() => fs.rm(base, { recursive: true, force: true }))
  const store = await openBlobStore({ dir: path.join(base, 'blobs') })
  t.after(async () => store.close())
  const ids = { png: await store.add(PNG), jpeg: await store.add(JPEG), html: await store.add(HTML), svg: await store.add(SVG) }
  return { base, store, ids, handler: createBlobProtocolHandler(() => store.dir) }
}

test('serves a stored image with its sniffed type, and anything else as an inert download', async (t) => {
  const { ids, handler } = await blobFixture(t)
  const png = await handler(new Request(blobUrl(ids.png)))
  assert.equal(png.status, 200)
  assert.equal(png.headers.get('Content-Type'), 'image/png')
  assert.equal(png.headers.get('Content-Length'), String(PNG.length))
  assert.equal(png.headers.get('X-Content-Type-Options'), 'nosniff')
  assert.equal(png.headers.get('Content-Security-Policy'), "default-src 'none'; sandbox")
  assert.equal(png.headers.get('Content-Disposition'), null)
  assert.deepEqual(Buffer.from(await png.arrayBuffer()), PNG)

  const jpeg = await handler(new Request(blobUrl(ids.jpeg)))
  assert.equal(jpeg.headers.get('Content-Type'), 'image/jpeg')
  assert.deepEqual(Buffer.from(await jpeg.arrayBuffer()), JPEG)

  // HTML and SVG can carry script: never served as anything a page would run or render.
  for (const [id, bytes] of [[ids.html, HTML], [ids.svg, SVG]] as const) {
    const response = await handler(new Request(blobUrl(id)))
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('Content-Type'), 'application/octet-stream')
    assert.equal(response.headers.get('Content-Disposition'), 'attachment')
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes)
  }
})

test('an unknown blob, anything that is not a blob id, and a store not yet open are 404', async (t) => {
  const { base, ids, handler } = await blobFixture(t)
  // Files a traversal would be after, outside the blob folder.
  await fs.writeFile(path.join(base, 'secret'), 'identity')
  await fs.writeFile(path.join(base, 'x.sha256'), 'not a blob')
  const unknown = '&' + Buffer.alloc(32, 7).toString('base64') + '.sha256'
  const pngHash = ids.png.slice(1, -'.sha256'.length)
  const attempts = [
    blobUrl(unknown),
    'hearsay-blob://..%2F..%2Fsecret',
    'hearsay-blob://../../secret',
    `hearsay-blob://${encodeURIComponent('&../../x.sha256')}`,
    `hearsay-blob://${encodeURIComponent('&' + pngHash.slice(0, 40) + '/../x.sha256')}`,
    `hearsay-blob://${encodeURIComponent('%' + pngHash + '.sha256')}`, // a message id
    `hearsay-blob://${encodeURIComponent('@' + pngHash + '.ed25519')}`, // a feed id
    `hearsay-blob://${encodeURIComponent('&' + pngHash + '.sha512')}`,
    `hearsay-blob://${encodeURIComponent('&' + pngHash.slice(0, -2) + 'B=.sha256')}`, // non-canonical base64
    `hearsay-blob://${encodeURIComponent(ids.png + ' ')}`,
    `hearsay-blob://${encodeURIComponent(ids.png)}/extra`,
    'hearsay-blob://%E0%A4%A',
    'hearsay-blob://',
    `hearsay-app://${encodeURIComponent(ids.png)}`,
  ]
  for (const url of attempts) {
    const response = await handler(new Request(url))
    assert.equal(response.status, 404, url)
    assert.equal(await response.text(), 'not found', url)
  }
  // The id itself, unencoded, is what the renderer may also produce; a query or fragment is ignored.
  assert.equal((await handler(new Request(`hearsay-blob://${ids.png}`))).status, 200)
  assert.equal((await handler(new Request(`${blobUrl(ids.png)}?v=1#x`))).status, 200)
  assert.equal((await handler(new Request(blobUrl(ids.png), { method: 'POST', body: 'x' }))).status, 404)
  const notOpen = createBlobProtocolHandler(() => null)
  assert.equal((await notOpen(new Request(blobUrl(ids.png)))).status, 404)
})

test('only a canonical &…sha256 id is read from a blob URL', () => {
  const id = '&' + Buffer.alloc(32, 1).toString('base64') + '.sha256'
  assert.equal(blobIdFromUrl(`hearsay-blob://${encodeURIComponent(id)}`), id)
  assert.equal(blobIdFromUrl(`hearsay-blob://${encodeURIComponent(id)}/`), id)
  assert.equal(blobIdFromUrl(`http://x/${encodeURIComponent(id)}`), null)
  assert.equal(blobIdFromUrl(`hearsay-blob://${encodeURIComponent(id.replace('.sha256', '.SHA256'))}`), null)
})
