// The client API's Settings page: hops and LAN discovery (saved, applied to the running peer),
// the data folder, storage used, and reclaiming the space of blocked feeds and unlinked blobs.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ClientApiSpec, Handlers, ReclaimView, SettingsView, StorageView } from '@hearsay/client-api'
import type { BlobId } from '@hearsay/keys'
import { blocked, feedMessageCounts, reclaimFeeds, reclaimedFeeds, type IndexedMessage, type Store } from '@hearsay/store'
import { badArgument, guarded, type HandlerContext, type Session } from './handlers.ts'
import { blobLinks } from './blobs-plugin.ts'
import { storePath } from './data-dir.ts'
import { MAX_HOPS, settingsChange } from './settings.ts'

type SettingsHandlers = Pick<Handlers<ClientApiSpec>, 'settings' | 'updateSettings' | 'storage' | 'reclaimSpace'>

const DEFAULT_TOP_FEEDS = 10
const MAX_TOP_FEEDS = 100
/** Every link counts when deciding what may be deleted, however many or deep. */
const ALL_LINKS = { links: Infinity, depth: Infinity }

export function settingsHandlers(context: HandlerContext): SettingsHandlers {
  const settingsView = (session: Session): SettingsView => ({
    ...session.settings.current,
    maxHops: MAX_HOPS,
    lanActive: session.settings.lanActive,
    dataDir: context.dataDir,
  })

  return {
    settings: guarded(async () => settingsView(await context.session())),

    updateSettings: guarded(async (change: unknown) => {
      const session = await context.session()
      await session.settings.update(settingsChange(change))
      return settingsView(session)
    }),

    storage: guarded(async (options: unknown): Promise<StorageView> => {
      const limit = topLimit(options)
      const session = await context.session()
      const me = session.identity.id
      const [counts, blocks, reclaimed, databaseBytes, blobs] = await Promise.all([
        feedMessageCounts(session.store), blocked(session.store, me), Promise.resolve(reclaimedFeeds(session.store)),
        folderBytes(storePath(context.dataDir)), context.blobs.usage(),
      ])
      const blockedSet = new Set(blocks)
      const top = counts.slice(0, limit)
      const authors = await session.views.authors(top.map(({ feed }) => feed))
      const held = new Set(counts.map(({ feed }) => feed))
      return {
        messages: { count: counts.reduce((sum, { messages }) => sum + messages, 0), bytes: databaseBytes },
        blobs,
        feeds: top.map(({ feed, messages }) => ({ author: authors[feed]!, messages, blocked: blockedSet.has(feed) })),
        reclaimableFeeds: blocks.filter((feed) => held.has(feed) && !reclaimed.includes(feed)).length,
      }
    }),

    reclaimSpace: guarded(async (): Promise<ReclaimView> => {
      const session = await context.session()
      const { store } = session
      const reclaimed = new Set(reclaimedFeeds(store))
      const toReclaim = (await blocked(store, session.identity.id)).filter((feed) => !reclaimed.has(feed))
      const results = toReclaim.length === 0 ? [] : await reclaimFeeds(store, toReclaim, (progress) => context.status.indexProgress(progress))
      const result: ReclaimView = { feeds: results.length, messages: results.reduce((sum, { messages }) => sum + messages, 0), blobs: 0, blobBytes: 0 }
      const removed = await removeUnlinkedBlobs(context, store)
      result.blobs = removed.removed.length
      result.blobBytes = removed.bytes
      return result
    }),
  }
}

/**
 * Deletes the blobs no stored message links to. Messages stored while the log is read or the
 * blobs are removed add their links too, so a blob linked meanwhile is kept.
 */
async function removeUnlinkedBlobs(context: HandlerContext, store: Store) {
  const linked = new Set<BlobId>()
  const addLinks = (message: IndexedMessage) => {
    for (const id of blobLinks(message.value.content, ALL_LINKS)) linked.add(id)
  }
  // Listeners get private messages addressed to us decrypted, as the log read below does.
  const unsubscribe = store.subscribe(addLinks)
  try {
    for await (const message of store.readLog({ decrypt: true })) addLinks(message)
    return await context.blobs.removeUnreferenced({ isReferenced: (id) => linked.has(id), keepNewerThan: context.blobGracePeriod })
  } finally {
    unsubscribe()
  }
}

function topLimit(options: unknown): number {
  if (options === undefined || options === null) return DEFAULT_TOP_FEEDS
  if (typeof options !== 'object' || Array.isArray(options)) throw badArgument('storage options must be an object {limit?}')
  const { limit } = options as { limit?: unknown }
  if (limit === undefined) return DEFAULT_TOP_FEEDS
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_TOP_FEEDS) {
    throw badArgument(`limit must be a whole number from 1 to ${MAX_TOP_FEEDS}, not ${JSON.stringify(limit)?.slice(0, 40)}`)
  }
  return limit
}

/** Bytes of the files in a folder and its subfolders. */
async function folderBytes(folder: string): Promise<number> {
  let total = 0
  for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name)
    if (entry.isDirectory()) total += await folderBytes(full)
    else if (entry.isFile()) total += (await fs.stat(full).catch(() => ({ size: 0 }))).size
  }
  return total
}

