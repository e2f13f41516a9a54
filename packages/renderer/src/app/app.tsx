import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { AuthorView, ClientTransport, FeedId } from '@hearsay/client-api'
import { HomePage } from '../components/home-page.tsx'
import { ErrorNote, Loading } from '../components/common.tsx'
import { Onboarding } from '../components/onboarding.tsx'
import { ProfilePage } from '../components/profile-page.tsx'
import { StatusIndicator } from '../components/status-indicator.tsx'
import { TagPage } from '../components/tag-page.tsx'
import { ThreadPage } from '../components/thread-page.tsx'
import { ConversationPage } from '../components/conversation-page.tsx'
import { MessagesPage } from '../components/messages-page.tsx'
import { NotificationsPage } from '../components/notifications-page.tsx'
import { RestoreNotice, useRestoreStatus } from '../components/restore.tsx'
import { SearchPage } from '../components/search-page.tsx'
import { SettingsPage } from '../components/settings-page.tsx'
import { ConnectionsPage } from '../components/connections-page.tsx'
import { PAGE_SIZE } from '../components/post-feed.tsx'
import { hrefFor, parseRoute, type Route } from '../routes.ts'
import { ClientProvider, useClient, useConnection, type ConnectionState, type HearsayClient } from './connection.tsx'
import { useLive, useLoaded } from './hooks.ts'
import { prefetchedHomeFeedAnswered, prefetchHomeFeed } from './prefetch.ts'
import { SessionProvider, type Session } from './session.tsx'

/** `firstConnection`: the connection main.tsx started before React rendered anything. */
export function App({ firstConnection }: { firstConnection?: Promise<ClientTransport> }) {
  const connection = useConnection(firstConnection)
  // While reconnecting, the last page stays on screen (its actions fail with a clear error).
  const [last, setLast] = useState<{ client: HearsayClient; generation: number } | null>(null)
  useEffect(() => {
    if (connection.phase !== 'open') return
    prefetchHomeFeed(connection.client, { limit: PAGE_SIZE })
    setLast({ client: connection.client, generation: connection.generation })
  }, [connection])
  const current = connection.phase === 'open' ? connection : last
  return (
    <>
      <ConnectionBanner state={connection} wasOpen={last !== null} />
      {current ? (
        <ClientProvider key={current.generation} client={current.client}>
          <Signed />
        </ClientProvider>
      ) : (
        <Loading label="Connecting to your peer…" />
      )}
    </>
  )
}

function ConnectionBanner({ state, wasOpen }: { state: ConnectionState; wasOpen: boolean }) {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    if (state.phase !== 'waiting') return
    const timer = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(timer)
  }, [state])
  if (state.phase === 'open' || (state.phase === 'connecting' && state.attempt === 0 && !wasOpen)) return null
  const text =
    state.phase === 'lost'
      ? `Lost the connection to your peer (${state.reason}). Restart Hearsay to reconnect.`
      : state.phase === 'waiting'
      ? `Lost the connection to your peer (${state.reason}). Retrying in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s…`
      : 'Reconnecting to your peer…'
  return (
    <div className="connection-banner" role="status">
      {text}
    </div>
  )
}

/** Onboarding first when we have neither a name nor any message; otherwise the app. */
function Signed() {
  const client = useClient()
  const setup = useLoaded(() => client.setup(), [client])
  // At launch the peer should be busy with the home feed's first page alone: the shell, whose
  // header asks for unread counts, status and more, mounts once that page has been answered.
  const firstPage = useLoaded(() => prefetchedHomeFeedAnswered(client), [client])
  const [onboarded, setOnboarded] = useState(false)
  if (setup.error) return <ErrorNote error={setup.error} action={{ label: 'Try again', run: setup.reload }} />
  if (!setup.value || setup.loading || firstPage.loading) return <Loading label="Opening your feed…" />
  const view = setup.value
  if (!onboarded && !view.named && view.feedLength === 0) {
    return (
      <Onboarding
        setup={view}
        onDone={() => {
          setOnboarded(true)
          setup.reload()
        }}
      />
    )
  }
  return <Shell me={view.id} />
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}

function Shell({ me }: { me: FeedId }) {
  const client = useClient()
  const route = useRoute()
  // How we show ourselves loads beside the first page, not before it.
  const [myself, setMyself] = useState<AuthorView>({ id: me, name: null, image: null })
  useEffect(() => {
    let current = true
    client.profile(me).then(
      (profile) => current && setMyself({ id: profile.id, name: profile.name, image: profile.image }),
      () => undefined, // the name stays a short id; the profile page shows the error if it persists
    )
    return () => {
      current = false
    }
  }, [client, me])
  const [blocked, setBlockedSet] = useState<ReadonlySet<FeedId>>(new Set())
  const setBlocked = useCallback((feed: FeedId, block: boolean) => {
    setBlockedSet((current) => {
      const next = new Set(current)
      if (block) next.add(feed)
      else next.delete(feed)
      return next
    })
  }, [])
  const session: Session = useMemo(() => ({ me, myself, setMyself, blocked, setBlocked }), [me, myself, blocked, setBlocked])

  // After navigating, keyboard and screen-reader users continue from the new page's content;
  // on first load focus stays at the top, where "Skip to content" is the first stop.
  const firstRoute = useRef(true)
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false
      return
    }
    document.getElementById('main')?.focus({ preventScroll: true })
  }, [route])

  const unread = useUnreadCounts(route)
  const restore = useRestoreStatus()

  return (
    <SessionProvider session={session}>
      <div className="app">
        <a className="skip-link" href="#main" onClick={(event) => {
          event.preventDefault()
          document.getElementById('main')?.focus()
        }}>
          Skip to content
        </a>
        <header className="topbar">
          <a className="brand" href={hrefFor({ page: 'home' })}>
            Hearsay
          </a>
          <nav aria-label="Main">
            <a href={hrefFor({ page: 'home' })} aria-current={route.page === 'home' ? 'page' : undefined}>
              Home
            </a>
            <a href={hrefFor({ page: 'messages' })} aria-current={route.page === 'messages' || route.page === 'conversation' ? 'page' : undefined}>
              Messages
              <Unread count={unread.messages} />
            </a>
            <a href={hrefFor({ page: 'notifications' })} aria-current={route.page === 'notifications' ? 'page' : undefined}>
              Notifications
              <Unread count={unread.notifications} />
            </a>
            <a href={hrefFor({ page: 'search' })} aria-current={route.page === 'search' ? 'page' : undefined}>
              Search
            </a>
            <a href={hrefFor({ page: 'profile', id: me })} aria-current={route.page === 'profile' && route.id === me ? 'page' : undefined}>
              {myself.name ?? 'My profile'}
            </a>
            <a href={hrefFor({ page: 'connections' })} aria-current={route.page === 'connections' ? 'page' : undefined}>
              Connections
            </a>
            <a href={hrefFor({ page: 'settings' })} aria-current={route.page === 'settings' ? 'page' : undefined}>
              Settings
            </a>
          </nav>
          <StatusIndicator />
        </header>
        {restore && <RestoreNotice status={restore} />}
        <main id="main" tabIndex={-1}>
          <RouteView route={route} unread={unread} />
        </main>
      </div>
    </SessionProvider>
  )
}

interface UnreadCounts {
  messages: number
  notifications: number
  refreshMessages(): void
  refreshNotifications(): void
}

/**
 * The navigation's unread counts, from the peer: notifications live as they arrive, conversations
 * whenever the page changes (opening one marks it read).
 */
function useUnreadCounts(route: Route): UnreadCounts {
  const client = useClient()
  const [messages, setMessages] = useState(0)
  const [notifications, setNotifications] = useState(0)
  const refreshMessages = useCallback(() => {
    client.inbox({ limit: 50 }).then((page) => setMessages(page.items.filter((item) => item.unread).length), () => undefined)
  }, [client])
  const refreshNotifications = useCallback(() => {
    client.unreadNotifications().then(setNotifications, () => undefined)
  }, [client])
  useEffect(refreshMessages, [refreshMessages, route])
  useEffect(refreshNotifications, [refreshNotifications])
  // On the notifications page, the page marks new ones seen and then asks for the count.
  const onNotificationsPage = useRef(false)
  onNotificationsPage.current = route.page === 'notifications'
  useLive(() => client.notificationsLive(), () => onNotificationsPage.current || refreshNotifications(), [client])
  useLive(() => client.privateMessagesLive(), refreshMessages, [client])
  return { messages, notifications, refreshMessages, refreshNotifications }
}

function Unread({ count }: { count: number }) {
  if (count === 0) return null
  // The peer stops counting at 99.
  return <span className="badge">{count >= 99 ? '99+' : count} new</span>
}

function RouteView({ route, unread }: { route: Route; unread: UnreadCounts }) {
  switch (route.page) {
    case 'home':
      return <HomePage />
    case 'thread':
      return <ThreadPage key={route.id} id={route.id} />
    case 'profile':
      return <ProfilePage key={route.id} id={route.id} />
    case 'tag':
      return <TagPage key={route.tag} tag={route.tag} />
    case 'messages':
      return <MessagesPage />
    case 'conversation':
      return <ConversationPage key={route.id} id={route.id} onRead={unread.refreshMessages} />
    case 'notifications':
      return <NotificationsPage onSeen={unread.refreshNotifications} />
    case 'search':
      return <SearchPage />
    case 'settings':
      return <SettingsPage />
    case 'connections':
      return <ConnectionsPage />
  }
}
