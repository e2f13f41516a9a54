import { createContext, useContext, type ReactNode } from 'react'
import type { AuthorView, FeedId } from '@hearsay/client-api'

export interface Session {
  me: FeedId
  /** How we show ourselves (for posts we just wrote). */
  myself: AuthorView
  setMyself(view: AuthorView): void
  /** Authors blocked during this session: hidden at once, before any page reloads. */
  blocked: ReadonlySet<FeedId>
  setBlocked(feed: FeedId, blocked: boolean): void
}

const SessionContext = createContext<Session | null>(null)

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
}

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside a SessionProvider')
  return session
}
