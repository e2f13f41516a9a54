// The web bridge (`hearsay start --web`) against DNS rebinding and other sites: raw requests on
// 127.0.0.1 naming other hosts, coming from other origins, preflighting, upgrading to the API's
// WebSocket, or lacking the secret, each of which must be refused; and the legitimate ones, as
// controls, which must be served. Every answer is kept for the CSP row.
import type { StressRow } from '../harness.ts'
import { rawRequest, type RawAnswer, type RawHeaders } from './http.ts'

export interface BridgeAnswer {
  name: string
  answer: RawAnswer
  /**
   * Whether a browser could show it as a page: not a WebSocket upgrade's answer (refusals are
   * empty, and a page cannot send Upgrade), nor Node's own 400 for a request without Host.
   */
  document: boolean
}

interface Case {
  name: string
  method?: string
  target: string
  headers: RawHeaders
  version?: string
  /** Served (200, or 101 for an upgrade), or refused (4xx). */
  expect: 'served' | 'refused'
  /** Node's HTTP parser answers it before the bridge sees it. */
  byNode?: boolean
}

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

export async function checkBridge(webUrl: string): Promise<{ row: StressRow; answers: BridgeAnswer[] }> {
  const url = new URL(webUrl)
  const port = Number(url.port)
  const secret = url.searchParams.get('secret') ?? ''
  const good = `127.0.0.1:${port}`
  const other = port === 65535 ? port - 1 : port + 1
  const page = `/?secret=${secret}`
  const api = `/api?secret=${secret}`
  const wrongSecret = `${secret[0] === 'x' ? 'y' : 'x'}${secret.slice(1)}`

  // A legitimate page load hands out the session cookie and names the bundle.
  const first = await rawRequest(port, 'GET', page, [['Host', good], ['Connection', 'close']])
  const setCookie = first.headers.get('set-cookie')?.[0] ?? ''
  const cookie = setCookie.split(';')[0] ?? ''
  const asset = /src="\.?(\/assets\/[^"]+\.js)"/.exec(first.body)?.[1]
  if (first.status !== 200 || !cookie.includes('=') || !asset) throw new Error(`the web bridge did not serve its page (status ${first.status})`)

  const get = (name: string, target: string, headers: RawHeaders, expect: Case['expect'], method = 'GET'): Case => ({
    name,
    method,
    target,
    headers: [...headers, ['Connection', 'close']],
    expect,
  })
  const upgrade = (name: string, target: string, headers: RawHeaders, expect: Case['expect']): Case => ({
    name: `ws ${name}`,
    target,
    headers: [...headers, ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', WS_KEY], ['Sec-WebSocket-Version', '13']],
    expect,
  })

  const foreignHosts = [
    'evil.example',
    `evil.example:${port}`,
    `localhost.evil.example:${port}`,
    `127.0.0.1.nip.io:${port}`,
    `2130706433:${port}`,
    `0x7f.1:${port}`,
    `0x7f000001:${port}`,
    `127.1:${port}`,
    `0177.0.0.1:${port}`,
    `127.0.0.2:${port}`,
    `[::1]:${port}`,
    `[::ffff:127.0.0.1]:${port}`,
    `127.0.0.1:${other}`,
    `localhost:${other}`,
    '127.0.0.1',
    'localhost',
    `127.0.0.1.:${port}`,
    `localhost.:${port}`,
    `LOCALHOST:${port}`,
    `${good}@evil.example`,
    `evil.example#@${good}`,
    ` ${good}x`,
    '',
  ]
  const foreignOrigins = [
    'http://evil.example',
    `http://evil.example:${port}`,
    'null',
    'file://',
    `http://127.0.0.1:${other}`,
    `http://localhost:${other}`,
    `https://${good}`,
    `http://${good}.evil.example`,
    'http://127.0.0.1',
    `ws://${good}`,
    'chrome-extension://abcdefghijklmnop',
  ]

  const cases: Case[] = [
    // Controls: what the page itself does.
    get('page with the secret', page, [['Host', good]], 'served'),
    get('page on localhost', page, [['Host', `localhost:${port}`]], 'served'),
    get('page from its own origin', page, [['Host', good], ['Origin', `http://${good}`]], 'served'),
    get('asset with the cookie', asset, [['Host', good], ['Cookie', cookie]], 'served'),
    get('asset same-origin fetch', asset, [['Host', good], ['Cookie', cookie], ['Sec-Fetch-Site', 'same-origin']], 'served'),
    upgrade('with the secret from its own origin', api, [['Host', good], ['Origin', `http://${good}`]], 'served'),
    upgrade('on localhost from its own origin', api, [['Host', `localhost:${port}`], ['Origin', `http://localhost:${port}`]], 'served'),

    // DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own name.
    ...foreignHosts.flatMap((host) => [
      get(`Host ${JSON.stringify(host)}`, page, [['Host', host]], 'refused'),
      get(`Host ${JSON.stringify(host)} asset`, asset, [['Host', host], ['Cookie', cookie]], 'refused'),
      upgrade(`Host ${JSON.stringify(host)}`, api, [['Host', host]], 'refused'),
    ]),
    { ...get('no Host (HTTP/1.0)', page, [], 'refused'), version: 'HTTP/1.0' },
    { ...get('no Host (HTTP/1.1)', page, [], 'refused'), byNode: true },
    get('duplicated Host, ours first', page, [['Host', good], ['Host', 'evil.example']], 'refused'),
    get('duplicated Host, foreign first', page, [['Host', 'evil.example'], ['Host', good]], 'refused'),
    get('absolute-form target naming another host', `http://evil.example${page}`, [['Host', good]], 'refused'),
    get('absolute-form target naming a rebinding name', `http://localhost.evil.example:${port}${page}`, [['Host', good]], 'refused'),

    // Other sites' pages: browsers say where a request comes from.
    ...foreignOrigins.flatMap((origin) => [
      get(`Origin ${origin}`, page, [['Host', good], ['Origin', origin]], 'refused'),
      get(`Origin ${origin} asset`, asset, [['Host', good], ['Cookie', cookie], ['Origin', origin]], 'refused'),
      upgrade(`Origin ${origin}`, api, [['Host', good], ['Origin', origin]], 'refused'),
    ]),
    get('cross-site navigation without Origin', page, [['Host', good], ['Sec-Fetch-Site', 'cross-site']], 'refused'),
    upgrade('cross-site without Origin', api, [['Host', good], ['Sec-Fetch-Site', 'cross-site']], 'refused'),

    // CORS preflights and non-GET methods.
    get('preflight from another site', '/api', [['Host', good], ['Origin', 'http://evil.example'], ['Access-Control-Request-Method', 'GET']], 'refused', 'OPTIONS'),
    get('preflight from its own origin', page, [['Host', good], ['Origin', `http://${good}`], ['Access-Control-Request-Method', 'POST']], 'refused', 'OPTIONS'),
    get('POST with the secret', page, [['Host', good], ['Content-Length', '0']], 'refused', 'POST'),
    get('PUT an asset', asset, [['Host', good], ['Cookie', cookie], ['Content-Length', '0']], 'refused', 'PUT'),
    get('DELETE with the secret', page, [['Host', good]], 'refused', 'DELETE'),

    // Without the secret, or with a wrong one.
    get('page without the secret', '/', [['Host', good]], 'refused'),
    get('page with the cookie only', '/', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('page with a wrong secret', `/?secret=${wrongSecret}`, [['Host', good]], 'refused'),
    get('page with the secret in other case', `/?secret=${secret.toUpperCase()}`, [['Host', good]], 'refused'),
    get('page with an empty secret', '/?secret=', [['Host', good]], 'refused'),
    get('page with the secret as a cookie', '/', [['Host', good], ['Cookie', `secret=${secret}`]], 'refused'),
    get('asset without the cookie', asset, [['Host', good]], 'refused'),
    get('asset with a wrong cookie', asset, [['Host', good], ['Cookie', `${cookie.split('=')[0]}=nope`]], 'refused'),
    get('asset with another port’s cookie', asset, [['Host', good], ['Cookie', `hearsay-${other}=${cookie.split('=')[1]}`]], 'refused'),
    get('blob without the cookie', `/blobs/${encodeURIComponent(`&${'A'.repeat(43)}=.sha256`)}`, [['Host', good]], 'refused'),
    get('favicon without the cookie', '/favicon.svg', [['Host', good]], 'refused'),
    get('secret only in the Referer', asset, [['Host', good], ['Referer', `http://${good}${page}`]], 'refused'),
    upgrade('without the secret', '/api', [['Host', good], ['Origin', `http://${good}`]], 'refused'),
    upgrade('with the cookie only', '/api', [['Host', good], ['Origin', `http://${good}`], ['Cookie', cookie]], 'refused'),
    upgrade('with a wrong secret', `/api?secret=${wrongSecret}`, [['Host', good], ['Origin', `http://${good}`]], 'refused'),
    upgrade('secret only in the Referer', '/api', [['Host', good], ['Origin', `http://${good}`], ['Referer', `http://${good}${page}`]], 'refused'),
    upgrade('to another path', `/API?secret=${secret}`, [['Host', good], ['Origin', `http://${good}`]], 'refused'),

    // Paths out of the renderer's folder.
    get('dot-dot path', '/../../../../etc/passwd', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('encoded dot-dot path', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('encoded slash path', '/assets/..%2f..%2fpackage.json', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('dotfile', '/.env', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('NUL in path', '/index.html%00.js', [['Host', good], ['Cookie', cookie]], 'refused'),
    get('malformed escape', '/%E0%A4%A', [['Host', good], ['Cookie', cookie]], 'refused'),
  ]

  const failures: string[] = []
  const answers: BridgeAnswer[] = [{ name: 'first page load', answer: first, document: true }]
  for (const request of cases) {
    let answer: RawAnswer
    try {
      answer = await rawRequest(port, request.method ?? 'GET', request.target, request.headers, request.version)
    } catch (err) {
      failures.push(`${request.name}: ${(err as Error).message}`)
      continue
    }
    const upgraded = request.headers.some(([name]) => name === 'Upgrade')
    answers.push({ name: request.name, answer, document: !upgraded && request.byNode !== true })
    const servedStatus = upgraded ? 101 : 200
    if (request.expect === 'served' && answer.status !== servedStatus) failures.push(`${request.name}: refused (${answer.status}), should be served`)
    if (request.expect === 'refused') {
      if (answer.status < 400) failures.push(`${request.name}: served (${answer.status}), should be refused`)
      if (answer.headers.has('set-cookie')) failures.push(`${request.name}: a refused request got the session cookie`)
    }
    if (answer.headers.has('access-control-allow-origin')) failures.push(`${request.name}: answered with Access-Control-Allow-Origin ${answer.headers.get('access-control-allow-origin')}`)
    // The page's own address carries the secret: what it loads or links to must not be told it.
    if (answer.status === 200 && answer.headers.get('referrer-policy')?.[0] !== 'no-referrer') failures.push(`${request.name}: no Referrer-Policy: no-referrer, so the secret could leak in a Referer`)
  }
  const served = cases.filter((request) => request.expect === 'served').length
  return {
    row: {
      target: 'web: bridge vs DNS rebinding and other origins',
      tried: cases.length + 1,
      unit: 'requests',
      detail: `${served} legitimate served · ${cases.length - served} hostile refused · ${foreignHosts.length} Host and ${foreignOrigins.length} Origin variants`,
      failures,
    },
    answers,
  }
}
