import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app/app.tsx'
import { clientFor } from './app/connection.tsx'
import { prefetchHomeFeed } from './app/prefetch.ts'
import { PAGE_SIZE } from './components/post-feed.tsx'
import { parseRoute } from './routes.ts'
import { applyTheme, storedTheme } from './app/theme.ts'
import { connectTransport } from './transport/index.ts'
import './styles.css'

applyTheme(storedTheme())

// Connecting is the first thing on the way to the first posts, so it starts before React renders,
// and the home feed's first page is asked for the moment the connection opens (the App's own
// prefetch, once React has rendered and run its effects, then finds it already under way).
const firstConnection = connectTransport()
const launchedAtHome = parseRoute(window.location.hash).page === 'home'
firstConnection.then(
  (transport) => {
    if (launchedAtHome) prefetchHomeFeed(clientFor(transport), { limit: PAGE_SIZE })
  },
  () => undefined, // the App retries and shows why
)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App firstConnection={firstConnection} />
  </StrictMode>,
)
