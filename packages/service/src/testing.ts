// Test helpers: apps in temp data directories that clean up after themselves.
import path from 'node:path'
import type { FeedId } from '@hearsay/keys'
import { defer, tempDir, type Teardown } from '@hearsay/network/testing/helpers'
import { startApp, type App, type AppOptions } from './app.ts'

export { defer, tempDir, type Teardown }

/** An app on 127.0.0.1 (a free port) in a fresh data directory, closed when the test ends. */
export async function startTestApp(t: Teardown, options: Partial<AppOptions> = {}): Promise<App> {
  const dataDir = options.dataDir ?? path.join(await tempDir(t), 'data')
  const app = await startApp({ host: '127.0.0.1', port: 0, ...options, dataDir })
  defer(t, () => app.close())
  return app
}

/** Resolves once `app`'s store holds `feed` up to at least `sequence`. */
export async function waitForSequence(app: App, feed: FeedId, sequence: number): Promise<void> {
  let done!: () => void
  const reached = new Promise<void>((resolve) => (done = resolve))
  const unsubscribe = app.store.subscribe((message) => {
    if (message.value.author === feed && message.value.sequence >= sequence) done()
  })
  try {
    if (((await app.store.feedStatus(feed))?.sequence ?? 0) >= sequence) return
    await reached
  } finally {
    unsubscribe()
  }
}

/** The first item of `source` that `match` accepts (the stream is then closed). */
export async function firstMatching<T>(source: AsyncIterable<T>, match: (item: T) => boolean): Promise<T> {
  for await (const item of source) if (match(item)) return item
  throw new Error('the stream ended without a matching item')
}
