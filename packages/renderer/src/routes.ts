import { isFeedIdShape, isMessageIdShape, type FeedId, type MessageId } from '@hearsay/client-api'

/** The app's pages, addressed by the URL hash so a link in a post is just an href. */
export type Route =
  | { page: 'home' }
  | { page: 'thread'; id: MessageId }
  | { page: 'profile'; id: FeedId }
  | { page: 'tag'; tag: string }
  | { page: 'messages' }
  | { page: 'conversation'; id: MessageId }
  | { page: 'notifications' }
  | { page: 'search' }
  | { page: 'settings' }
  | { page: 'connections' }

const tagPattern = /^[\p{L}\p{N}_-]{1,100}$/u

export const isHashtag = (value: string) => tagPattern.test(value)

export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'home':
      return '#/'
    case 'thread':
      return `#/thread/${encodeURIComponent(route.id)}`
    case 'profile':
      return `#/profile/${encodeURIComponent(route.id)}`
    case 'tag':
      return `#/tag/${encodeURIComponent(route.tag.toLowerCase())}`
    case 'conversation':
      return `#/messages/${encodeURIComponent(route.id)}`
    case 'messages':
    case 'notifications':
    case 'search':
    case 'settings':
    case 'connections':
      return `#/${route.page}`
  }
}

/** The route a hash names; anything unrecognised is home. */
export function parseRoute(hash: string): Route {
  const single = /^#\/(messages|notifications|search|settings|connections)$/.exec(hash)?.[1]
  if (single) return { page: single as 'messages' | 'notifications' | 'search' | 'settings' | 'connections' }
  const [, page, rawValue] = /^#\/([a-z]+)\/(.+)$/.exec(hash) ?? []
  let value: string
  try {
    value = decodeURIComponent(rawValue ?? '')
  } catch {
    return { page: 'home' }
  }
  if (page === 'thread' && isMessageIdShape(value)) return { page: 'thread', id: value }
  if (page === 'profile' && isFeedIdShape(value)) return { page: 'profile', id: value }
  if (page === 'messages' && isMessageIdShape(value)) return { page: 'conversation', id: value }
  if (page === 'tag' && isHashtag(value)) return { page: 'tag', tag: value.toLowerCase() }
  return { page: 'home' }
}
