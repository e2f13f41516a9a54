// The markdown renderer against what a hostile peer could write: each case is rendered to static
// HTML with react-dom/server and every tag and attribute in the output is checked against what
// the renderer is allowed to produce, besides the case's own assertions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderToStaticMarkup } from 'react-dom/server'
import type { AuthorView, BlobId, FeedId } from '@hearsay/client-api'
import { MAX_RENDERED_CHARS, renderMarkdown, type MarkdownContext } from './render.ts'

const alice = '@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519' as FeedId
const nameless = '@BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=.ed25519' as FeedId
const message = '%CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=.sha256'
const blob = '&DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDA=.sha256' as BlobId

const context: MarkdownContext = {
  authors: { [alice]: { id: alice, name: 'alice', image: null } satisfies AuthorView },
  blobUrl: (id) => `/blobs/${encodeURIComponent(id)}`,
}

const allowedTags = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  'em', 'strong', 's', 'code', 'pre', 'hr', 'br', 'a', 'img', 'span',
])
const allowedAttributes = new Set(['href', 'src', 'alt', 'loading', 'class', 'target', 'rel', 'start', 'style'])

function render(text: string): string {
  const html = renderToStaticMarkup(renderMarkdown(text, context))
  assertInert(html)
  return html
}

/** The guarantees every output keeps, whatever went in. */
function assertInert(html: string) {
  for (const [, tag, attributes] of html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    assert.ok(allowedTags.has(tag!.toLowerCase()), `unexpected <${tag}> in ${html}`)
    for (const [, name, value] of attributes!.matchAll(/\s([^\s=]+)="([^"]*)"/g)) {
      assert.ok(allowedAttributes.has(name!), `unexpected attribute ${name} in ${html}`)
      if (name === 'href') assert.match(value!, /^(#\/(profile|thread|tag)\/|\/blobs\/|https?:\/\/|mailto:)/, `unsafe href in ${html}`)
      if (name === 'src') assert.match(value!, /^\/blobs\/%26/, `non-local image in ${html}`)
      if (name === 'style') assert.match(value!, /^text-align:(left|center|right)$/, `unexpected style in ${html}`)
      if (name === 'target') assert.match(attributes!, /rel="noopener noreferrer"/)
    }
  }
}

test('script, iframe, style and other raw HTML render as visible text, never as elements', () => {
  const corpus = [
    '<script>alert(1)</script>',
    '<iframe src="https://evil.example/"></iframe>',
    '<style>body { display: none }</style>',
    '<img src=x onerror="alert(1)">',
    '<div onmouseover="alert(1)" style="position:fixed;inset:0">cover</div>',
    '<svg><script>alert(1)</script></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<object data="evil.swf"></object>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
  ]
  for (const text of corpus) {
    const html = render(text)
    assert.ok(html.includes('&lt;'), `raw HTML should show escaped: ${html}`)
  }
  assert.equal(render('<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>')
})

test('javascript:, data:, vbscript: and other schemes never become links', () => {
  const corpus = [
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '[click](  javascript:alert(1))',
    '[click](java\tscript:alert(1))',
    '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[click](vbscript:msgbox(1))',
    '[click](file:///etc/passwd)',
    '[click](/relative/path)',
    '[click](//evil.example/protocol-relative)',
    '<javascript:alert(1)>',
    '[click][ref]\n\n[ref]: javascript:alert(1)',
  ]
  for (const text of corpus) {
    const html = render(text)
    assert.doesNotMatch(html, /href=/, `${text} became a link: ${html}`)
  }
  assert.equal(render('[click](javascript:alert(1))'), '<p><span class="inert-link">click</span></p>')
})

test('http(s) links are plain links that open apart from the app and leak no referrer', () => {
  assert.equal(
    render('[site](https://example.com/a?b=1)'),
    '<p><a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer" class="external">site</a></p>',
  )
  assert.match(render('see http://example.org/page'), /<a href="http:\/\/example.org\/page" target="_blank" rel="noopener noreferrer"/)
  // A title cannot smuggle attributes in.
  assert.doesNotMatch(render('[x](https://example.com "a\\" onclick=\\"alert(1)")'), /onclick|title/)
})

test('images load from the local blob store only; remote and data images show as text', () => {
  assert.equal(render(`![cat](${blob})`), `<p><img src="/blobs/${encodeURIComponent(blob)}" alt="cat" loading="lazy"/></p>`)
  for (const source of ['https://evil.example/track.png', 'http://127.0.0.1:1/x.png', 'data:image/png;base64,iVBORw0KGgo=', '//evil.example/x.png', '/blobs/../secret']) {
    const html = render(`![pixel](${source})`)
    assert.doesNotMatch(html, /<img/, `${source} loaded: ${html}`)
    assert.match(html, /\[image: pixel\]/)
  }
})

test('@feed links show names, %msg links open threads, #tags open tag pages', () => {
  assert.equal(render(`hi [@someone](${alice})`), `<p>hi <a href="#/profile/${encodeURIComponent(alice)}" class="mention">@alice</a></p>`)
  assert.match(render(`bare ${alice} mention`), new RegExp(`<a href="#/profile/${encodeURIComponent(alice).replace(/[+]/g, '\\+')}" class="mention">@alice</a>`))
  assert.match(render(`[@bob](${nameless})`), />@bob<\/a>/, 'an unnamed feed keeps the name the author wrote')
  assert.match(render(`${nameless}`), />@BBBBBBBB…<\/a>/)
  assert.match(render(`[this thread](${message})`), new RegExp(`<a href="#/thread/${encodeURIComponent(message)}">this thread</a>`))
  assert.equal(render('about #scuttlebutt and #Café'), '<p>about <a href="#/tag/scuttlebutt" class="hashtag">#scuttlebutt</a> and <a href="#/tag/caf%C3%A9" class="hashtag">#Café</a></p>')
  assert.doesNotMatch(render('x#notatag and a/#fragment'), /hashtag/)
  assert.equal(render('# A heading'), '<h1>A heading</h1>')
})

test('CSS tricks, attribute smuggling and structure abuse stay inert', () => {
  // Table alignment is the only style, from a fixed list.
  assert.match(render('| a |\n|:-:|\n| b |'), /<th style="text-align:center">a<\/th>/)
  render('{: style="position:fixed" }\n\ntext')
  render('<span style="font-size:999em">big</span>')
  render(`${'> '.repeat(500)}deep`)
  render(`${'- '.repeat(300)}deep list`)
  render(`${'*'.repeat(2000)}x${'*'.repeat(2000)}`)
  render('1000000000000. huge start')
  assert.doesNotMatch(render('1000000000000. huge start'), /start=/)
  render('```html\n<script>alert(1)</script>\n```')
  assert.match(render('```\n<b>x</b>\n```'), /<pre><code>&lt;b&gt;x&lt;\/b&gt;\n<\/code><\/pre>/)
})

test('text nested past the parser\'s depth limit is shown, not dropped', () => {
  assert.match(render(`${'> '.repeat(19)}deep enough`), /<blockquote><p>deep enough<\/p><\/blockquote>/)
  for (const deep of [`${'>'.repeat(300)} too deep`, `${'- '.repeat(300)}too deep`, `${Array.from({ length: 30 }, (_, depth) => `${'  '.repeat(depth)}- level ${depth}`).join('\n')}\n\ntoo deep`]) {
    const html = render(deep)
    assert.match(html, /too deep/, html.slice(0, 200))
    assert.doesNotMatch(html, /<blockquote>|<ul>/, 'shown as its text')
  }
  assert.match(render('- level 0\n  - level 1\n    - level 2\n\n<b>x</b>'), /<li>level 0<ul><li>level 1<ul><li>level 2<\/li><\/ul><\/li><\/ul><\/li><\/ul><p>&lt;b&gt;x&lt;\/b&gt;<\/p>/)
  assert.match(render(`${'>'.repeat(300)} <img src=x onerror=alert(1)>\nline two`), /<p>.*&lt;img src=x onerror=alert\(1\)&gt;<br\/>line two<\/p>/)
})

test('oversized text is cut at a fixed bound before parsing', () => {
  const huge = 'word '.repeat(100_000)
  const html = render(huge)
  assert.ok(html.length < MAX_RENDERED_CHARS + 100, `rendered ${html.length} chars`)
  assert.ok(html.endsWith('…</p>'))
  const unbroken = 'x'.repeat(50_000)
  assert.ok(render(unbroken).length < MAX_RENDERED_CHARS + 100)
})

test('ordinary markdown keeps its structure', () => {
  assert.equal(render('1. one\n2. two'), '<ol>\n<li>one</li>\n<li>two</li>\n</ol>'.replace(/\n/g, ''))
  assert.equal(render('3. three'), '<ol start="3"><li>three</li></ol>')
  assert.equal(render('**bold** _em_ ~~gone~~ `code`'), '<p><strong>bold</strong> <em>em</em> <s>gone</s> <code>code</code></p>')
  assert.equal(render('> quoted'), '<blockquote><p>quoted</p></blockquote>')
})
