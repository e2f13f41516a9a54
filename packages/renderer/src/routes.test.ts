// Hash routes are typed by hand in the address bar and written by strangers into posts, so
// parsing accepts only well-formed ids and tags and treats everything else as home.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hrefFor, parseRoute } from './routes.ts'
import { webSocketUrl } from './transport/websocket.ts'

const feed = `@${'A'.repeat(40)}+/A=.ed25519` as const
const message = `%${'C'.repeat(40)}+/A=.sha256` as const

test('every route survives hrefFor then parseRoute, including + and / in ids', () => {
  for (const route of [
    { page: 'home' } as const,
    { page: 'profile', id: feed } as const,
    { page: 'thread', id: message } as const,
    { page: 'tag', tag: 'café' } as const,
    { page: 'messages' } as const,
    { page: 'conversation', id: message } as const,
    { page: 'notifications' } as const,
    { page: 'search' } as const,
    { page: 'settings' } as const,
    { page: 'connections' } as const,
  ]) {
    assert.deepEqual(parseRoute(hrefFor(route)), route)
  }
  assert.deepEqual(parseRoute('#/tag/Scuttlebutt'), { page: 'tag', tag: 'scuttlebutt' })
})

test('malformed or hostile hashes fall back to home', () => {
  for (const hash of [
    '', '#', '#/', '#/nowhere/x', '#/profile/', '#/profile/not-a-feed', `#/profile/${feed}x`, '#/thread/%E0%A4%A', // bad percent-encoding
    `#/thread/${encodeURIComponent(feed)}`, '#/tag/<script>', '#/tag/a b', `#/tag/${'x'.repeat(101)}`, '#/PROFILE/x',
    '#/profile/javascript:alert(1)', `#/messages/${encodeURIComponent(feed)}`, '#/messages/x', '#/settings/x', '#/SEARCH',
  ]) {
    assert.deepEqual(parseRoute(hash), { page: 'home' }, hash)
  }
})

test('the web bridge URL is the page host with the secret from the page URL', () => {
  assert.equal(webSocketUrl({ host: '127.0.0.1:5173', search: '?secret=a%2Bb', protocol: 'http:' }), 'ws://127.0.0.1:5173/api?secret=a%2Bb')
  assert.equal(webSocketUrl({ host: '127.0.0.1:1', search: '', protocol: 'http:' }), 'ws://127.0.0.1:1/api?secret=')
})
