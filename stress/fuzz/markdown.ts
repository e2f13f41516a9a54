// Target 7: rendering post markdown, which anyone on the network can write. Random markdown
// mixed with links, images, raw HTML and known XSS pieces goes through the renderer the app
// uses, to static HTML by react-dom/server; a strict reader of that HTML (its grammar is
// small) then allows only the tags, attributes and URLs the renderer means to produce.
import fc from 'fast-check'
import { renderToStaticMarkup } from 'react-dom/server'
import { toFeedId, toMessageId, toBlobId } from '@hearsay/keys'
import { renderMarkdown, type MarkdownContext } from '../../packages/renderer/src/markdown/render.ts'
import { Tally, checkProperty, describeThrown, violation, type FuzzTarget } from './property.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
// Authors the page knows by name, some names hostile: mentions of them render the name.
const named = [1, 2, 3].map((fill) => toFeedId(new Uint8Array(32).fill(fill)))
const names = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', 'alice']
const feed = fc.oneof(bytes32.map((bytes) => toFeedId(bytes)), fc.constantFrom(...named))

const XSS = [
  '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<svg onload=alert(1)>', '<a href="javascript:alert(1)">x</a>',
  '<iframe src="https://evil.example/">', '<style>*{display:none}</style>', '" onmouseover="alert(1)', "' onfocus='alert(1)",
  '<div style="position:fixed">', '<!-- x -->', '<![CDATA[x]]>', '<base href="https://evil.example/">', '<form action=x>',
  '&lt;script&gt;', '&#60;script&#62;', '&#x3C;img src=x onerror=alert(1)&#x3E;', '\u0000', '\u202e', '<math><mi xlink:href="javascript:alert(1)">',
]
const SCHEMES = [
  'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', ' javascript:alert(1)', 'javascript&colon;alert(1)',
  '&#106;avascript:alert(1)', '&#x6A;avascript:alert(1)', '%6Aavascript:alert(1)', 'jav&#x09;ascript:alert(1)', '\u0001javascript:alert(1)',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'data:image/svg+xml,<svg onload=alert(1)>', 'vbscript:msgbox(1)',
  'file:///etc/passwd', '//evil.example/x.png', '/relative', 'https://evil.example/x.png', 'http://evil.example/?q="><script>',
  'mailto:someone@example.org', 'blob:https://x/y', 'about:blank', 'ssb:message/sha256/x', '#tag', '#', '#/profile/x',
  'https://evil.example/" onerror="alert(1)', 'https://xn--80ak6aa92e.com', 'HTTPS://EXAMPLE.ORG',
]
const MARKUP = ['\n', '\n\n', '> ', '- ', '* ', '1. ', '0. ', '99999999999. ', '# ', '###### ', '```\n', '    ', '**', '_', '~~', '`', '\\', '|', '|a|b|\n|:-|-:|\n|c|d|\n', '---\n', '<', '>', '&', '"', "'", '@', '%', '&amp;', '[', ']', '(', ')', '!']

const url = fc.oneof(
  fc.constantFrom(...SCHEMES),
  fc.webUrl({ withFragments: true, withQueryParameters: true }),
  feed,
  bytes32.map((bytes) => toMessageId(bytes)),
  bytes32.map((bytes) => toBlobId(bytes)),
  fc.tuple(bytes32.map((bytes) => toBlobId(bytes)), fc.string({ maxLength: 10 })).map(([id, query]) => `${id}?${query}`),
  fc.string({ maxLength: 30 }),
)
const words = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom(...XSS))
const piece = fc.oneof(
  words,
  fc.constantFrom(...MARKUP),
  fc.tuple(words, url).map(([text, href]) => `[${text}](${href})`),
  fc.tuple(words, url).map(([text, src]) => `![${text}](${src})`),
  fc.tuple(words, url, words).map(([text, href, title]) => `[${text}](${href} "${title}")`),
  url.map((href) => `<${href}>`),
  fc.tuple(words, url).map(([text, href]) => `[${text}][r]\n\n[r]: ${href}\n`),
  url,
  feed.map((id) => ` ${id} `),
  fc.string({ unit: fc.constantFrom('a', 'é', '_', '-', '1'), minLength: 1, maxLength: 10 }).map((tag) => ` #${tag} `),
  fc.tuple(fc.constantFrom('>', '- ', '1. ', '*', '['), fc.integer({ min: 1, max: 200 })).map(([open, depth]) => open.repeat(depth)),
)
const markdown = fc.oneof(
  { weight: 20, arbitrary: fc.array(piece, { maxLength: 24 }).map((pieces) => pieces.join('')) },
  // Past the renderer's cut-off, which must land safely anywhere.
  { weight: 1, arbitrary: fc.tuple(piece, fc.integer({ min: 500, max: 3_000 })).map(([text, times]) => text.repeat(times)) },
)

const VOID_TAGS = new Set(['br', 'hr', 'img'])
const PLAIN_TAGS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'li', 'table', 'thead', 'tbody', 'tr', 'em', 'strong', 's', 'code', 'pre', 'br', 'hr'])
const ATTRIBUTES: Record<string, ReadonlySet<string>> = {
  a: new Set(['href', 'class', 'target', 'rel']),
  img: new Set(['src', 'alt', 'loading']),
  span: new Set(['class']),
  ol: new Set(['start']),
  th: new Set(['style']),
  td: new Set(['style']),
}
const INTERNAL_HREF = /^#\/(profile|thread|tag)\/[^#\s]+$/
const BLOB_URL = /^\/blobs\/%26[A-Za-z0-9%_.!~*'()-]+$/
const ESCAPES: Record<string, string> = { '&amp;': '&', '&quot;': '"', '&#x27;': "'", '&lt;': '<', '&gt;': '>' }

/** An attribute's value as the browser reads it; only react-dom's five escapes may appear. */
function unescape(value: string): string {
  return value.replace(/&[^;]*;?/g, (entity) => ESCAPES[entity] ?? violation(`unexpected entity ${entity} in an attribute`))
}

/** Reads `html` strictly; throws a violation at the first thing the renderer must not make. */
export function checkRenderedHtml(html: string): void {
  const open: string[] = []
  let rest = html
  while (rest.length > 0) {
    if (!rest.startsWith('<')) {
      const text = /^[^<]+/.exec(rest)![0]
      if (text.includes('>')) violation(`a bare '>' in text: …${text.slice(0, 60)}`)
      for (const entity of text.match(/&[^;]*;?/g) ?? []) if (!(entity in ESCAPES)) violation(`unexpected entity ${entity} in text`)
      rest = rest.slice(text.length)
      continue
    }
    const tag = /^<(\/?)([a-z][a-z0-9]*)((?: [a-z-]+="[^"<>]*")*)(\/?)>/.exec(rest)
    if (!tag) violation(`not a well-formed tag: ${rest.slice(0, 60)}`)
    const [whole, closing, name, attributeText, selfClosing] = tag as unknown as [string, string, string, string, string]
    rest = rest.slice(whole.length)
    if (!PLAIN_TAGS.has(name) && !(name in ATTRIBUTES)) violation(`the tag <${name}> is not one the renderer makes`)
    if (closing) {
      if (open.pop() !== name) violation(`</${name}> closes something else`)
      continue
    }
    if (VOID_TAGS.has(name) !== (selfClosing === '/')) violation(`<${name}> is ${selfClosing ? '' : 'not '}self-closing`)
    if (!VOID_TAGS.has(name)) open.push(name)
    const attributes = new Map<string, string>()
    for (const [, attribute, raw] of attributeText.matchAll(/ ([a-z-]+)="([^"]*)"/g)) {
      if (!ATTRIBUTES[name]?.has(attribute!)) violation(`<${name}> has the attribute ${attribute}`)
      if (attributes.has(attribute!)) violation(`<${name}> has ${attribute} twice`)
      attributes.set(attribute!, unescape(raw!))
    }
    checkAttributes(name, attributes)
  }
  if (open.length > 0) violation(`unclosed <${open.join('>, <')}>`)
}

function checkAttributes(name: string, attributes: ReadonlyMap<string, string>): void {
  const { href, src, target, rel, style, start } = Object.fromEntries(attributes) as Record<string, string | undefined>
  const className = attributes.get('class')
  if (name === 'a') {
    if (href === undefined) violation('a link without an href')
    const external = /^(https?:\/\/|mailto:)/.test(href) || BLOB_URL.test(href)
    if (external) {
      if (!BLOB_URL.test(href)) {
        let parsed: URL
        try {
          parsed = new URL(href)
        } catch {
          violation(`the external href ${href} is not a URL`)
        }
        if (!['http:', 'https:', 'mailto:'].includes(parsed.protocol) || parsed.href !== href) violation(`the external href ${href} is not a normalised http(s)/mailto URL`)
      }
      if (target !== '_blank' || rel !== 'noopener noreferrer' || className !== 'external') violation(`the outside link ${href} lacks target=_blank rel="noopener noreferrer"`)
    } else {
      if (!INTERNAL_HREF.test(href)) violation(`the href ${JSON.stringify(href)} is neither internal, a local blob nor http(s)/mailto`)
      if (target !== undefined || rel !== undefined) violation(`the internal link ${href} opens elsewhere`)
      if (className !== undefined && className !== 'mention' && className !== 'hashtag') violation(`a link has class ${className}`)
    }
  }
  if (name === 'img') {
    if (src === undefined || !BLOB_URL.test(src)) violation(`an image loads from ${JSON.stringify(src)}, not the local blob store`)
    if (attributes.get('loading') !== 'lazy') violation('an image is not lazy')
  }
  if (name === 'span' && className !== 'inert-link' && className !== 'inert-image') violation(`a span has class ${JSON.stringify(className)}`)
  if (style !== undefined && !/^text-align:(left|center|right)$/.test(style)) violation(`a cell has style ${JSON.stringify(style)}`)
  if (start !== undefined && !/^[0-9]{1,9}$/.test(start)) violation(`a list starts at ${JSON.stringify(start)}`)
}

export const markdownRendering: FuzzTarget = {
  name: 'fuzz: markdown rendering',
  quickRuns: 1_000,
  async run(runs, seed) {
    const authors = Object.fromEntries(named.map((id, i) => [id, { id, name: names[i]!, image: null }]))
    const context: MarkdownContext = { authors, blobUrl: (id) => `/blobs/${encodeURIComponent(id)}` }
    const tally = new Tally()
    let slowest = 0
    let slowestInput = ''
    const property = fc.property(markdown, (text) => {
      tally.tried++
      const started = performance.now()
      let html: string
      try {
        html = renderToStaticMarkup(renderMarkdown(text, context))
      } catch (thrown) {
        violation(`rendering threw ${describeThrown(thrown)}`)
      }
      const took = performance.now() - started
      if (took > slowest) {
        slowest = took
        slowestInput = `${text.length} chars: ${JSON.stringify(text.slice(0, 24))}…`
      }
      checkRenderedHtml(html)
      if (html.includes('<a ')) tally.count('with links')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: [...tally.percentages('with links'), `slowest ${slowest.toFixed(0)} ms (${slowestInput})`] }
  },
}
