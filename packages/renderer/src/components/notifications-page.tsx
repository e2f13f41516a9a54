import { useEffect } from 'react'
import type { NotificationView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useLive, useLoaded } from '../app/hooks.ts'
import { AuthorLink, ErrorNote, Loading, previewText, timeAgo } from './common.tsx'
import { hrefFor } from '../routes.ts'

const WHAT: Record<NotificationView['kind'], string> = {
  mention: 'mentioned you',
  reply: 'replied in a thread you are in',
  like: 'liked your post',
  follow: 'followed you',
}

/** Mentions, replies, likes and new followers, newest first; new ones arrive live. Opening it marks all seen. */
export function NotificationsPage({ onSeen }: { onSeen(): void }) {
  const client = useClient()
  const list = useLoaded(() => client.notifications({ limit: 50 }), [client])
  useLive(
    () => client.notificationsLive(),
    ({ notification, authors }) => {
      list.set((current) => current && !current.items.some((item) => item.messageId === notification.messageId)
        ? { ...current, items: [notification, ...current.items], authors: { ...current.authors, ...authors } }
        : current)
    },
    [client],
  )
  const newest = list.value?.items[0]?.messageId
  useEffect(() => {
    if (list.value) client.markNotificationsSeen().then(onSeen, () => undefined)
  }, [client, newest, list.value !== undefined])

  if (list.error) return <ErrorNote error={list.error} action={{ label: 'Try again', run: list.reload }} />
  if (!list.value) return <Loading label="Loading notifications…" />
  const { items, authors } = list.value
  return (
    <div className="page page-notifications">
      <h1 className="page-title">Notifications</h1>
      {items.length === 0 ? (
        <p>Nothing yet: mentions, replies, likes and new followers show up here.</p>
      ) : (
        <ul className="notifications" aria-label="Notifications">
          {items.map((item) => (
            <li key={item.messageId} className={`notification notification-${item.kind}`}>
              <AuthorLink id={item.from} authors={authors} /> {WHAT[item.kind]}
              {item.post && (
                <>
                  {': '}
                  <a href={hrefFor({ page: 'thread', id: item.post.root ?? item.post.id })}>{previewText(item.post.text) || 'a post'}</a>
                </>
              )}
              {' '}
              <time dateTime={new Date(item.timestamp).toISOString()}>{timeAgo(item.timestamp)}</time>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
