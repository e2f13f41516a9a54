import { promises as fs } from 'node:fs'
import { Readable } from 'node:stream'
import { blobPath, blobResponseHeaders, BLOB_SNIFF_BYTES } from '@hearsay/blobs'
import { isBlobId, type BlobId } from '@hearsay/keys'
import { BLOB_SCHEME } from './security.ts'

const notFound = () => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' } })

/** The blob id a `hearsay-blob://<encodeURIComponent(id)>` URL names, or null. */
export function blobIdFromUrl(url: string): BlobId | null {
  const prefix = `${BLOB_SCHEME}://`
  if (!url.startsWith(prefix)) return null
  // The scheme is not "standard", so Chromium leaves the rest as written (a standard scheme
  // would lowercase it as a host name, and base64 is case-sensitive).
  let encoded = url.slice(prefix.length)
  const end = encoded.search(/[?#]/)
  if (end !== -1) encoded = encoded.slice(0, end)
  if (encoded.endsWith('/')) encoded = encoded.slice(0, -1)
  let id: string
  try {
    id = decodeURIComponent(encoded)
  } catch {
    return null
  }
  return isBlobId(id) ? id : null
}

/**
 * The `hearsay-blob:` protocol: serves `&…sha256` blobs from the blob store's folder and nothing
 * else. The file is found by hashing the id into the store's layout, so no part of the URL ever
 * becomes a path. `blobsDir()` is null until the peer has opened its store.
 */
export function createBlobProtocolHandler(blobsDir: () => string | null): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET') return notFound()
    const id = blobIdFromUrl(request.url)
    const dir = blobsDir()
    if (id === null || dir === null) return notFound()
    let handle: fs.FileHandle
    try {
      handle = await fs.open(blobPath(dir, id), 'r')
    } catch {
      return notFound()
    }
    try {
      const { size } = await handle.stat()
      const head = Buffer.alloc(Math.min(size, BLOB_SNIFF_BYTES))
      await handle.read(head, 0, head.length, 0)
      const headers = new Headers(await blobResponseHeaders(head, size))
      const body = Readable.toWeb(handle.createReadStream({ start: 0, autoClose: true })) as ReadableStream<Uint8Array>
      return new Response(body, { status: 200, headers })
    } catch {
      await handle.close().catch(() => undefined)
      return notFound()
    }
  }
}
