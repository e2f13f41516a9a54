// Shared by import.test.ts and crash.test.ts: the shared fixtures, read in place (gunzipped on
// the fly, never copied into the repo), and a consistency check of a store against them.
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createGunzip } from 'node:zlib'
import { flumeLogPath, messagesPath } from '@hearsay/test-fixtures'
import type { FeedId, MessageId } from '@hearsay/keys'
import type { MessageValue } from '@hearsay/message'
import { messagesByType } from '../queries/by-type.ts'
import type { Store } from '../types.ts'
import { collect } from '../test-helpers.ts'

export const NDJSON_10K = messagesPath('10k')
export const FLUME_10K = flumeLogPath()

/** Appends messages in their order, one run of same-author messages at a time, all accepted. */
export async function appendInRuns(store: Store, messages: readonly { value: MessageValue }[]): Promise<void> {
  for (let i = 0; i < messages.length;) {
    const author = messages[i]!.value.author
    let j = i
    while (j < messages.length && messages[j]!.value.author === author) j++
    const result = await store.append(author, messages.slice(i, j).map((m) => m.value))
    assert.equal(result.rejected, undefined)
    assert.equal(result.accepted.length, j - i)
    i = j
  }
}

/** Every feed of a fixture: its message ids, index i holding sequence i + 1. */
export async function fixtureFeeds(file = NDJSON_10K): Promise<Map<FeedId, MessageId[]>> {
  const feeds = new Map<FeedId, MessageId[]>()
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity })
  for await (const line of lines) {
    if (line.length === 0) continue
    const { key, value } = JSON.parse(line) as { key: MessageId; value: MessageValue }
    let ids = feeds.get(value.author)
    if (!ids) feeds.set(value.author, (ids = []))
    assert.equal(value.sequence, ids.length + 1, 'the fixture lists each feed in sequence order')
    ids.push(key)
  }
  return feeds
}

/** Every message of one type through the public type index, following cursors. */
export async function allOfType(store: Store, type: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await messagesByType(store, type, { limit: 500, ...(cursor ? { cursor } : {}) })
    keys.push(...page.items.map((m) => m.key))
    cursor = page.cursor
  } while (cursor)
  return keys
}

/**
 * Asserts that every feed in `store` is a gap-free prefix of the same feed in `expected`, that
 * the log holds each message once, and that the type index lists exactly the log's public
 * messages. Returns how many messages the store holds.
 */
export async function assertConsistent(store: Store, expected: Map<FeedId, MessageId[]>): Promise<number> {
  const log = await collect(store.readLog())
  const seen = new Set<string>()
  const byType = new Map<string, Set<string>>()
  const perFeed = new Map<FeedId, number>()
  for (const [i, message] of log.entries()) {
    assert.equal(message.offset, i + 1, 'log offsets are gap-free')
    assert.ok(!seen.has(message.key), `${message.key} is stored once`)
    seen.add(message.key)
    perFeed.set(message.value.author, (perFeed.get(message.value.author) ?? 0) + 1)
    const { content } = message.value
    if (typeof content === 'object') {
      let keys = byType.get(content.type)
      if (!keys) byType.set(content.type, (keys = new Set()))
      keys.add(message.key)
    }
  }
  for (const [feed, count] of perFeed) {
    const source = expected.get(feed)
    assert.ok(source, `${feed} comes from the source`)
    const stored = await collect(store.readFeed(feed))
    assert.equal(stored.length, count)
    assert.deepEqual(stored.map((m) => m.key), source.slice(0, count), `${feed} is a prefix of its source`)
    assert.equal((await store.feedStatus(feed))?.sequence, count, `${feed}'s state matches its messages`)
  }
  let publicCount = 0
  for (const [type, keys] of byType) {
    const indexed = await allOfType(store, type)
    assert.equal(indexed.length, keys.size, `the type index lists every ${type} once`)
    assert.deepEqual(new Set(indexed), keys, `the type index agrees with the log for ${type}`)
    publicCount += keys.size
  }
  const entries = (await collect(store.indexReader('type').keys({}))).length
  assert.equal(entries, publicCount, 'the type index holds nothing but the log\'s public messages')
  return log.length
}
