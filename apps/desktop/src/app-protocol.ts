import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { APP_HOST, CONTENT_SECURITY_POLICY } from './security.ts'

/** Fetches a `file:` URL (Electron's `net.fetch`, which also reads inside asar archives). */
export type FetchFile = (fileUrl: string) => Promise<Response>

const notFound = () =>
  new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain', 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' } })

/**
 * The `hearsay-app:` protocol: serves the built renderer from `rendererDir` and nothing else.
 * Only `hearsay-app://renderer/…` with GET; a path that leaves the folder (`..`, encoded
 * slashes, backslashes) is a 404 before any file is touched. Every answer carries the CSP.
 */
export function createAppProtocolHandler(rendererDir: string, fetchFile: FetchFile): (request: Request) => Promise<Response> {
  const root = path.resolve(rendererDir)
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return notFound()
    const file = fileFor(root, request.url)
    if (file === null) return notFound()
    let response: Response
    try {
      response = await fetchFile(pathToFileURL(file).href)
    } catch {
      return notFound()
    }
    if (!response.ok) return notFound()
    const headers = new Headers(response.headers)
    headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    headers.set('X-Content-Type-Options', 'nosniff')
    return new Response(response.body, { status: 200, headers })
  }
}

/** The file under `root` that `url` names, or null when it names anything outside it. */
export function fileFor(root: string, url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.host !== APP_HOST) return null
  let relative: string
  try {
    relative = decodeURIComponent(parsed.pathname)
  } catch {
    return null
  }
  // The URL parser has already folded `.` and `..` segments; these catch what decoding revealed.
  if (relative.includes('\\') || relative.includes('\0') || relative.split('/').some((part) => part === '..')) return null
  if (relative === '/' || relative === '') relative = '/index.html'
  const file = path.resolve(root, '.' + relative)
  if (!file.startsWith(root + path.sep)) return null
  return file
}
