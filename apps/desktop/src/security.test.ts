import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HARDENED_WEB_PREFERENCES } from './hardened-window.ts'
import { APP_URL, CONTENT_SECURITY_POLICY, isAppUrl, isExternalWebUrl, windowOptions } from './security.ts'

test('the window runs the page with every hardening flag set', () => {
  const options = windowOptions('/app/dist/preload.cjs')
  assert.equal(options.show, false, 'shown only once painted')
  assert.deepEqual(options.webPreferences, { preload: '/app/dist/preload.cjs', ...HARDENED_WEB_PREFERENCES })
})

test('the CSP allows only the built app and local blobs, and no network at all', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/)
      return [name, sources] as const
    }),
  )
  assert.deepEqual(directives.get('default-src'), ["'none'"])
  assert.deepEqual(directives.get('script-src'), ["'self'"])
  assert.deepEqual(directives.get('style-src'), ["'self'"])
  assert.deepEqual(directives.get('img-src'), ["'self'", 'hearsay-blob:', 'blob:'])
  assert.deepEqual(directives.get('connect-src'), ["'none'"])
  for (const name of ['object-src', 'frame-src', 'worker-src', 'base-uri', 'form-action', 'frame-ancestors']) {
    assert.deepEqual(directives.get(name), ["'none'"], name)
  }
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|https?:|data:|\*/)
})

test('only http(s) links count as external; javascript:, file: and the like never do', () => {
  assert.equal(isExternalWebUrl('https://scuttlebutt.nz/'), true)
  assert.equal(isExternalWebUrl('http://example.com/a?b#c'), true)
  for (const url of [
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'mailto:someone@example.com',
    'smb://host/share',
    'ms-msdt:/id PCWDiagnostic',
    'hearsay-app://renderer/index.html',
    'http://',
    'not a url',
    '',
  ]) {
    assert.equal(isExternalWebUrl(url), false, url)
  }
})

test('navigation may stay inside the renderer and go nowhere else', () => {
  assert.equal(isAppUrl(APP_URL), true)
  assert.equal(isAppUrl('hearsay-app://renderer/index.html#/thread'), true)
  assert.equal(isAppUrl('hearsay-app://elsewhere/index.html'), false)
  assert.equal(isAppUrl('https://renderer/index.html'), false)
  assert.equal(isAppUrl('file:///index.html'), false)
  assert.equal(isAppUrl('garbage'), false)
})
