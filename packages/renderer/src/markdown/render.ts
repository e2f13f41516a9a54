// Posts arrive from anyone on the network, so their markdown is rendered by construction: tokens
// from markdown-it (raw HTML off) become React elements from a fixed list of tags, with only the
// attributes built here. Nothing the author wrote reaches the DOM as markup, a URL scheme, a style
// or an event handler.
import MarkdownIt, { type Token } from 'markdown-it'
import { createElement, Fragment, type ReactNode } from 'react'
import { isBlobIdShape, isFeedIdShape, isMessageIdShape, shortId, sigilInText, type AuthorView, type BlobId, type FeedId } from '@hearsay/client-api'
import { hrefFor, isHashtag } from '../routes.ts'

export interface MarkdownContext {
  /** How to show feeds the text names (from the page's `authors`). */
  authors: Record<FeedId, AuthorView>
  /** Where a blob loads from in the local store. */
  blobUrl(id: BlobId): string
}

/** Text past this is cut before parsing (signed posts are under 8 KiB; this bounds hostile input). */
export const MAX_RENDERED_CHARS = 20_000

/** Deepest block nesting parsed (bounds the element tree a hostile post can build). */
const MAX_NESTING = 20

const parser = new MarkdownIt({ html: false, linkify: true, typographer: false, maxNesting: MAX_NESTING })
// Every href is classified by `classifyLink` below and anything it does not know is dropped, so
// markdown-it's own filter and percent-encoding (which would mangle sigils) are not needed.
parser.validateLink = () => true
parser.normalizeLink = (url) => url
parser.normalizeLinkText = (url) => url

type LinkTarget =
  | { kind: 'internal'; href: string; feed?: FeedId }
  | { kind: 'external'; href: string }
  | { kind: 'blob'; href: string }
  | { kind: 'none' }

function classifyLink(rawHref: string, context: MarkdownContext): LinkTarget {
  const href = rawHref.trim()
  const sigil = href.split('?')[0] ?? ''
  if (isFeedIdShape(sigil)) return { kind: 'internal', href: hrefFor({ page: 'profile', id: sigil }), feed: sigil }
  if (isMessageIdShape(sigil)) return { kind: 'internal', href: hrefFor({ page: 'thread', id: sigil }) }
  if (isBlobIdShape(sigil)) return { kind: 'blob', href: context.blobUrl(sigil) }
  if (href.startsWith('#') && isHashtag(href.slice(1))) return { kind: 'internal', href: hrefFor({ page: 'tag', tag: href.slice(1) }) }
  let url: URL
  try {
    url = new URL(href)
  } catch {
    return { kind: 'none' }
  }
  if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'mailto:') return { kind: 'external', href: url.href }
  return { kind: 'none' }
}

function authorLabel(id: FeedId, context: MarkdownContext): string {
  const name = context.authors[id]?.name
  return name ? `@${name}` : shortId(id)
}

// A #tag starts a word; `&#…` entities and URL fragments are not tags.
const inlineRefs = new RegExp(`(${sigilInText.source})|(?<![\\p{L}\\p{N}_&#/])#([\\p{L}\\p{N}_-]{1,100})`, 'gu')

/** Plain text, with bare sigils and #hashtags turned into links inside the app. */
function renderText(text: string, context: MarkdownContext, key: number, insideLink: boolean): ReactNode {
  if (insideLink) return text
  const parts: ReactNode[] = []
  let last = 0
  for (const match of text.matchAll(inlineRefs)) {
    const [whole, sigil, tag] = match
    const start = match.index
    if (start > last) parts.push(text.slice(last, start))
    if (sigil !== undefined) {
      if (isFeedIdShape(sigil)) parts.push(createElement('a', { key: start, href: hrefFor({ page: 'profile', id: sigil }), className: 'mention' }, authorLabel(sigil, context)))
      else if (isMessageIdShape(sigil)) parts.push(createElement('a', { key: start, href: hrefFor({ page: 'thread', id: sigil }) }, shortId(sigil)))
      else parts.push(whole) // a blob named in text stays text; images need ![]()
    } else if (tag !== undefined) {
      parts.push(createElement('a', { key: start, href: hrefFor({ page: 'tag', tag }), className: 'hashtag' }, whole))
    }
    last = start + whole.length
  }
  if (last === 0) return text
  if (last < text.length) parts.push(text.slice(last))
  return createElement(Fragment, { key }, ...parts)
}

const containers: Record<string, string> = {
  paragraph: 'p',
  blockquote: 'blockquote',
  bullet_list: 'ul',
  ordered_list: 'ol',
  list_item: 'li',
  table: 'table',
  thead: 'thead',
  tbody: 'tbody',
  tr: 'tr',
  th: 'th',
  td: 'td',
  em: 'em',
  strong: 'strong',
  s: 's',
}
const headings = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'])
const alignments = new Set(['left', 'center', 'right'])

function attribute(token: Token, name: string): string {
  return String(token.attrGet(name) ?? '')
}

interface Frame {
  open: Token | null
  children: ReactNode[]
}

function closeFrame(frame: Frame, key: number, context: MarkdownContext): ReactNode {
  const open = frame.open
  if (!open) return createElement(Fragment, { key }, ...frame.children)
  const kind = open.type.replace(/_open$/, '')
  if (kind === 'link') {
    const target = classifyLink(attribute(open, 'href'), context)
    switch (target.kind) {
      case 'internal': {
        const spelled = frame.children.length === 1 && typeof frame.children[0] === 'string' && frame.children[0].startsWith('@')
        const known = target.feed && context.authors[target.feed]?.name
        const children = known && spelled ? [authorLabel(target.feed!, context)] : frame.children
        return createElement('a', { key, href: target.href, className: target.feed ? 'mention' : undefined }, ...children)
      }
      case 'external':
      case 'blob':
        return createElement('a', { key, href: target.href, target: '_blank', rel: 'noopener noreferrer', className: 'external' }, ...frame.children)
      case 'none':
        return createElement('span', { key, className: 'inert-link' }, ...frame.children)
    }
  }
  if (kind === 'paragraph' && open.hidden) return createElement(Fragment, { key }, ...frame.children)
  if (kind === 'heading') return createElement(headings.has(open.tag) ? open.tag : 'p', { key }, ...frame.children)
  if (kind === 'ordered_list') {
    const start = open.attrGet('start') === null ? Number.NaN : Number(attribute(open, 'start'))
    return createElement('ol', { key, start: Number.isSafeInteger(start) && start >= 0 && start < 1e9 ? start : undefined }, ...frame.children)
  }
  if (kind === 'th' || kind === 'td') {
    const align = /text-align:(\w+)/.exec(attribute(open, 'style'))?.[1]
    return createElement(kind, { key, style: align && alignments.has(align) ? { textAlign: align } : undefined }, ...frame.children)
  }
  return createElement(containers[kind] ?? 'span', { key }, ...frame.children)
}

function renderTokens(tokens: Token[], context: MarkdownContext): ReactNode[] {
  const root: Frame = { open: null, children: [] }
  const stack: Frame[] = [root]
  let linkDepth = 0
  const top = () => stack[stack.length - 1]!
  const walk = (list: Token[]) => {
    for (const token of list) {
      const key = top().children.length
      if (token.nesting === 1) {
        stack.push({ open: token, children: [] })
        if (token.type === 'link_open') linkDepth++
        continue
      }
      if (token.nesting === -1) {
        if (stack.length === 1) continue
        const frame = stack.pop()!
        if (token.type === 'link_close') linkDepth--
        top().children.push(closeFrame(frame, top().children.length, context))
        continue
      }
      switch (token.type) {
        case 'inline':
          walk(token.children ?? [])
          break
        case 'text':
          top().children.push(renderText(token.content, context, key, linkDepth > 0))
          break
        case 'softbreak':
          top().children.push('\n')
          break
        case 'hardbreak':
          top().children.push(createElement('br', { key }))
          break
        case 'code_inline':
          top().children.push(createElement('code', { key }, token.content))
          break
        case 'code_block':
        case 'fence':
          top().children.push(createElement('pre', { key }, createElement('code', null, token.content)))
          break
        case 'hr':
          top().children.push(createElement('hr', { key }))
          break
        case 'image': {
          const source = attribute(token, 'src').trim().split('?')[0] ?? ''
          // Only the local blob store: a remote image would tell its server who read the post.
          if (isBlobIdShape(source)) top().children.push(createElement('img', { key, src: context.blobUrl(source), alt: token.content, loading: 'lazy' }))
          else top().children.push(createElement('span', { key, className: 'inert-image' }, token.content ? `[image: ${token.content}]` : '[image]'))
          break
        }
        default:
          // html_block / html_inline cannot occur with html:false; anything else unknown shows as its text.
          if (token.content) top().children.push(token.content)
      }
    }
  }
  walk(tokens)
  while (stack.length > 1) {
    const frame = stack.pop()!
    top().children.push(closeFrame(frame, top().children.length, context))
  }
  return root.children
}

/**
 * Whether markdown-it cut the text short: past MAX_NESTING it drops the rest of the document,
 * leaving the deepest container opened and closed with nothing inside.
 */
function nestedTooDeep(tokens: Token[]): boolean {
  return tokens.some((token, index) => token.nesting === 1 && token.level >= MAX_NESTING - 1 && tokens[index + 1]?.nesting === -1)
}

/** A post's markdown as React elements. */
export function renderMarkdown(text: string, context: MarkdownContext): ReactNode {
  const bounded = text.length > MAX_RENDERED_CHARS ? `${text.slice(0, MAX_RENDERED_CHARS)}…` : text
  const tokens = parser.parse(bounded, {})
  // Nothing the author wrote may go missing: a post nested too deep to render is shown as its text.
  if (nestedTooDeep(tokens)) {
    return createElement('p', null, ...bounded.split('\n').flatMap((line, index) => (index === 0 ? [line] : [createElement('br', { key: index }), line])))
  }
  return createElement(Fragment, null, ...renderTokens(tokens, context))
}
