import { useMemo } from 'react'
import { shortId, type AuthorView, type FeedId } from '@hearsay/client-api'
import { renderMarkdown } from '../markdown/render.ts'
import { hrefFor } from '../routes.ts'
import { blobUrl } from '../transport/index.ts'

export function displayName(id: FeedId, authors: Record<FeedId, AuthorView>): string {
  return authors[id]?.name ?? shortId(id)
}

export function Avatar({ author, size = 40 }: { author: AuthorView | undefined; size?: number }) {
  const style = { width: size, height: size }
  if (author?.image) return <img className="avatar" style={style} src={blobUrl(author.image)} alt="" />
  const initial = (author?.name ?? '?').slice(0, 1).toUpperCase()
  return (
    <span className="avatar avatar-initial" style={style} aria-hidden="true">
      {initial}
    </span>
  )
}

export function AuthorLink({ id, authors }: { id: FeedId; authors: Record<FeedId, AuthorView> }) {
  return (
    <a className="author" href={hrefFor({ page: 'profile', id })}>
      {displayName(id, authors)}
    </a>
  )
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export function timeAgo(timestamp: number, now = Date.now()): string {
  const seconds = Math.round((timestamp - now) / 1000)
  const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [['second', 60], ['minute', 60], ['hour', 24], ['day', 7]]
  let value = seconds
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return relative.format(value, unit)
    value = Math.round(value / size)
  }
  return absolute.format(timestamp)
}

/** A byte count as people read it: 512 B, 3.4 KB, 120 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export function Markdown({ text, authors }: { text: string; authors: Record<FeedId, AuthorView> }) {
  const rendered = useMemo(() => renderMarkdown(text, { authors, blobUrl }), [text, authors])
  return <div className="markdown">{rendered}</div>
}

/** A post's text for a one-line preview: links and images as their labels, markup dropped. */
export function previewText(markdown: string, length = 140): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`>#~]+/g, (marks) => (marks === '#' ? marks : ''))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, length)
}

export function ErrorNote({ error, action }: { error: Error; action?: { label: string; run(): void } }) {
  return (
    <div className="error-note" role="alert">
      {error.message}
      {action && (
        <button type="button" onClick={action.run}>
          {action.label}
        </button>
      )}
    </div>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  )
}

/** Reads a picked file as base64, for addBlob. */
export function fileToBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''))
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'))
    reader.readAsDataURL(file)
  })
}
