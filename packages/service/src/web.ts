// Web mode: the built renderer and the client API over a WebSocket, on 127.0.0.1, for a browser.
// Other local users and other websites are treated as hostile: every request must name our host
// exactly (a DNS-rebinding page's requests carry its own host name), come from our origin when it
// says where it comes from, and prove it knows the secret in the URL we printed.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, promises as fs, statSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import { clientApi, createDispatcher, type ClientApiSpec, type Handlers, type Response } from '@hearsay/client-api'
import { isBlobId, type BlobId } from '@hearsay/keys'
import { blobResponseHeaders, BLOB_SNIFF_BYTES, type BlobStore } from '@hearsay/blobs'

/** Where web mode listens: loopback only, whatever else the machine has. */
export const WEB_HOST = '127.0.0.1'
/** Largest WebSocket message accepted: an addBlob of the largest upload, base64, with room for JSON. */
export const MAX_WS_MESSAGE = 8 * 1024 * 1024

export interface WebBridgeOptions {
  /** Port to listen on (default 0: a free one). */
  port?: number
  /** The built renderer (its index.html and assets); see rendererDistDir. */
  rendererDir: string
  /** Only 127.0.0.1 is accepted; anything else is refused. */
  host?: string
}

export interface WebBridge {
  /** `http://127.0.0.1:PORT/?secret=SECRET`: what to open in a browser. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

export class WebBridgeError extends Error {
  override readonly name = 'WebBridgeError'
  constructor(
    readonly code: 'EWEB_RENDERER_MISSING' | 'EWEB_HOST',
    message: string,
  ) {
    super(message)
  }
}

/** The built renderer's folder, found from the @hearsay/renderer package (its dist/). */
export function rendererDistDir(): string {
  const require = createRequire(import.meta.url)
  let entry: string
  try {
    entry = require.resolve('@hearsay/renderer')
  } catch (err) {
    throw new WebBridgeError('EWEB_RENDERER_MISSING', `cannot find the @hearsay/renderer package: ${(err as Error).message}`)
  }
  let dir = path.dirname(entry)
  while (!existsSyncFile(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new WebBridgeError('EWEB_RENDERER_MISSING', `cannot find the @hearsay/renderer package root from ${entry}`)
    dir = parent
  }
  return path.join(dir, 'dist')
}

function existsSyncFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** Headers every response carries. */
const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

/**
 * Serves the renderer and the client API on 127.0.0.1 (see the module comment for the checks).
 * The page needs `?secret=`; loading it sets a cookie (HttpOnly, SameSite=Strict) that lets the
 * page's assets and `/blobs/<id>` load without it. The cookie holds a separate random token, not
 * the secret: browsers send a host's cookies to every port on it, including other users' servers.
 * The WebSocket at `/api` always needs the secret itself.
 */
export async function startWebBridge(
  app: { handlers: Handlers<ClientApiSpec>; blobs: BlobStore },
  options: WebBridgeOptions,
): Promise<WebBridge> {
  if (options.host !== undefined && options.host !== WEB_HOST) {
    throw new WebBridgeError('EWEB_HOST', `web mode listens on ${WEB_HOST} only, never ${options.host}: other machines must not reach your peer`)
  }
  const rendererDir = await fs.realpath(options.rendererDir).catch(() => null)
  const indexFile = rendererDir ? path.join(rendererDir, 'index.html') : null
  if (!rendererDir || !indexFile || !(await fs.stat(indexFile).then((s) => s.isFile(), () => false))) {
    throw new WebBridgeError('EWEB_RENDERER_MISSING', `the renderer is not built: no index.html in ${options.rendererDir} (run \`npm run build -w @hearsay/renderer\`)`)
  }

  const secret = randomBytes(32).toString('base64url')
  const sessionToken = randomBytes(32).toString('base64url')
  const server = http.createServer()
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE })
  let port = 0
  let cookieName = ''

  const allowedHosts = () => [`${WEB_HOST}:${port}`, `localhost:${port}`]
  const hostOf = (req: http.IncomingMessage) => {
    // Exactly one Host, and no absolute-form target (whose authority would override it): with
    // two names for the request, which one a proxy in front of us obeyed is anyone's guess.
    const hosts = req.rawHeaders.filter((value, index) => index % 2 === 0 && value.toLowerCase() === 'host').length
    if (hosts !== 1 || !(req.url ?? '').startsWith('/')) return null
    const host = req.headers.host
    return typeof host === 'string' && allowedHosts().includes(host) ? host : null
  }
  const originAllowed = (req: http.IncomingMessage) => {
    const origin = req.headers.origin
    if (origin === undefined) return req.headers['sec-fetch-site'] !== 'cross-site'
    return allowedHosts().some((host) => origin === `http://${host}`)
  }
  const url = (req: http.IncomingMessage) => new URL(req.url ?? '/', `http://${WEB_HOST}:${port}`)
  const hasSecret = (req: http.IncomingMessage) => sameSecret(url(req).searchParams.get('secret'), secret)
  const hasSession = (req: http.IncomingMessage) => sameSecret(cookieValue(req.headers.cookie, cookieName), sessionToken) || hasSecret(req)

  server.on('request', (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) refuse(res, 500, `internal error: ${(err as Error).message}`)
      else res.destroy()
    })
  })

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = hostOf(req)
    if (!host) return refuse(res, 421, 'this server answers only to 127.0.0.1 and localhost on its own port')
    if (!originAllowed(req)) return refuse(res, 403, 'requests from other sites are refused')
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' })
    const target = url(req)
    let pathname: string
    try {
      pathname = decodeURIComponent(target.pathname)
    } catch {
      return refuse(res, 400, 'malformed path')
    }
    if (pathname === '/' || pathname === '/index.html') {
      if (!hasSecret(req)) return refuse(res, 401, 'open the address `hearsay start --web` printed: it carries the secret')
      res.setHeader('Set-Cookie', `${cookieName}=${sessionToken}; HttpOnly; SameSite=Strict; Path=/`)
      return sendFile(req, res, indexFile!, pageHeaders(host))
    }
    if (!hasSession(req)) return refuse(res, 401, 'open the address `hearsay start --web` printed first')
    if (pathname.startsWith('/blobs/')) return sendBlob(req, res, pathname.slice('/blobs/'.length))
    if (pathname === '/api') return refuse(res, 426, 'the API is a WebSocket', { Upgrade: 'websocket' })
    const file = await assetPath(rendererDir!, pathname)
    if (!file) return refuse(res, 404, 'not found')
    return sendFile(req, res, file, { ...pageHeaders(host), 'Cache-Control': cachePolicyFor(pathname) })
  }

  async function sendBlob(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    if (!isBlobId(id)) return refuse(res, 400, 'not a blob id (&….sha256)')
    const size = await app.blobs.size(id as BlobId)
    if (size === null) return refuse(res, 404, 'no such blob here')
    const head = await readHead(app.blobs, id as BlobId)
    const headers = { ...COMMON_HEADERS, ...(await blobResponseHeaders(head, size)) }
    res.writeHead(200, headers)
    if (req.method === 'HEAD') return void res.end()
    const stream = await app.blobs.get(id as BlobId)
    stream.on('error', () => res.destroy())
    stream.pipe(res)
  }

  server.on('upgrade', (req, socket, head) => {
    const reject = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    socket.on('error', () => socket.destroy())
    if (!hostOf(req)) return reject(421, 'Misdirected Request')
    if (!originAllowed(req)) return reject(403, 'Forbidden')
    if (url(req).pathname !== '/api') return reject(404, 'Not Found')
    if (!hasSecret(req)) return reject(401, 'Unauthorized')
    sockets.handleUpgrade(req, socket, head, (ws) => serve(ws))
  })

  function serve(ws: WebSocket): void {
    const dispatcher = createDispatcher(clientApi, app.handlers, (response: Response) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(response))
    })
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text frames of JSON only')
      let request: unknown
      try {
        request = JSON.parse(data.toString())
      } catch {
        ws.send(JSON.stringify({ type: 'error', id: -1, error: { name: 'SyntaxError', code: 'EAPI_BAD_REQUEST', message: 'a request must be JSON' } }))
        return
      }
      dispatcher.receive(request)
    })
    ws.on('close', () => dispatcher.close())
    ws.on('error', () => ws.terminate())
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, WEB_HOST, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  cookieName = `hearsay-${port}`

  return {
    url: `http://${WEB_HOST}:${port}/?secret=${secret}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate()
        sockets.close()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The page's policy: our own scripts and styles only, our WebSocket only, no framing. */
function pageHeaders(host: string): Record<string, string> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    `connect-src ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return { ...COMMON_HEADERS, 'Content-Security-Policy': csp, 'Cache-Control': 'no-store' }
}

/** Vite's assetsDir (its default), as a URL path. */
const HASHED_ASSETS = '/assets/'

/**
 * Vite names everything it emits under /assets/ by a hash of its content, so those bytes never
 * change at a path and the browser may keep them (and the code it compiled from them) for good:
 * launches after the first neither download nor recompile the bundle. Everything else (the page,
 * which names the current bundle, and unhashed files such as the favicon) is fetched afresh.
 */
function cachePolicyFor(pathname: string): string {
  return pathname.startsWith(HASHED_ASSETS) ? 'private, max-age=31536000, immutable' : 'no-store'
}

/** A file of the renderer's build for a URL path, or null: never outside it, never a dotfile. */
async function assetPath(root: string, pathname: string): Promise<string | null> {
  if (pathname.includes('\0') || pathname.split('/').some((part) => part.startsWith('.'))) return null
  const candidate = path.resolve(root, `.${pathname}`)
  if (!candidate.startsWith(root + path.sep)) return null
  try {
    const real = await fs.realpath(candidate)
    if (!real.startsWith(root + path.sep)) return null
    return (await fs.stat(real)).isFile() ? real : null
  } catch {
    return null
  }
}

async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, headers: Record<string, string>): Promise<void> {
  const { size } = await fs.stat(file)
  res.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(size) })
  if (req.method === 'HEAD') return void res.end()
  const stream = createReadStream(file)
  stream.on('error', () => res.destroy())
  stream.pipe(res)
}

function refuse(res: http.ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': "default-src 'none'", 'Cache-Control': 'no-store', ...extra })
  res.end(`${message}\n`)
}

/** Equal secrets, compared in constant time (over their hashes, so lengths leak nothing either). */
function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string' || given === '') return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return null
}

/** The blob's first bytes, enough to tell an image by its magic bytes. */
async function readHead(blobs: BlobStore, id: BlobId): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of await blobs.getSlice(id, 0, BLOB_SNIFF_BYTES)) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}
