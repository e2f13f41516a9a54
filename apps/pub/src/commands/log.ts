import { isFeedId, type FeedId, type Identity } from '@hearsay/keys'
import { createUnboxer } from '@hearsay/box1'
import { isBoxedContent, type Content, type Message } from '@hearsay/message'
import type { IndexedMessage } from '@hearsay/store'
import type { LocalClient } from '@hearsay/network'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { usageError } from '../errors.ts'
import { callPeer, connectRunning, iterate, peerError, usePeer } from '../running.ts'

const EXCERPT_LENGTH = 60

export const log = defineCommand({
  name: 'log',
  summary: "print a feed's messages (yours by default)",
  usage: 'log [--author ID] [--limit N] [--reverse] [--json] [--data DIR]',
  description: `
Prints the messages of one feed held in the store, oldest first, one per line:

  #SEQUENCE  TIME  %KEY  TYPE: TEXT

where TIME is the author's claimed time (UTC) and TEXT the start of the "text" field.
Private messages show as (private), followed by their type and text when they were
encrypted to you. With --json each line is instead the stored message as JSON,
{"key", "value", "timestamp"}, exactly as held (private content stays encrypted).
While \`hearsay start\` runs on the data directory, the running peer serves them.`,
  options: {
    author: { type: 'string', value: 'ID', description: 'the feed to print, a feed id (default: yours)' },
    limit: { type: 'string', value: 'N', description: 'print at most N messages' },
    reverse: { type: 'boolean', description: 'newest first (with --limit: the latest N)' },
    json: { type: 'boolean', description: 'print newline-delimited JSON {key, value, timestamp}' },
    ...DATA_OPTION,
  },
  examples: ['hearsay log', 'hearsay log --reverse --limit 10', 'hearsay log --author @…=.ed25519 --json'],
  async run({ values }, { env, stdout }) {
    if (values.author !== undefined && !isFeedId(values.author)) {
      throw usageError(`--author: not a feed id (@<base64 32 bytes>.ed25519): ${JSON.stringify(values.author)}`)
    }
    const limit = values.limit === undefined ? undefined : parseLimit(values.limit)
    const dataDir = resolveDataDir(values.data, env)

    const identity = await loadIdentity(dataDir)
    const author: FeedId = values.author ?? identity.id

    // JSON shows messages exactly as stored; people see what was encrypted to them.
    const print = (message: Shown) =>
      writeLine(stdout, values.json ? JSON.stringify({ key: message.key, value: message.value, timestamp: message.timestamp }) : formatLine(message))
    const client = await connectRunning(dataDir)
    if (client) {
      await usePeer(client, async (peer) => {
        const decrypt = values.json ? null : decrypter(identity)
        for await (const message of readFeedFromPeer(peer, author, limit, values.reverse ?? false)) await print(decrypt ? decrypt(message) : message)
      })
      return
    }
    await withStore(dataDir, identity, async (store) => {
      for await (const message of store.readFeed(author, { limit, reverse: values.reverse ?? false, decrypt: !values.json })) await print(message)
    })
  },
})

/** What `log` prints of a message. */
type Shown = Pick<IndexedMessage, 'key' | 'value' | 'timestamp' | 'private'>

/**
 * The feed as the running peer serves it (createHistoryStream, oldest first), streamed; with
 * --reverse it is read whole and turned round, and with --limit too only the latest are asked for.
 */
async function* readFeedFromPeer(peer: LocalClient, author: FeedId, limit: number | undefined, reverse: boolean): AsyncGenerator<Message> {
  let seq = 1
  if (reverse && limit !== undefined) {
    const latest = await callPeer<number>(peer, 'latestSequence', author).catch(() => 0) // a feed we hold none of
    seq = Math.max(1, latest - limit + 1)
  }
  const options = { id: author, seq, keys: true, ...(limit !== undefined && !reverse ? { limit } : {}) }
  const messages: Message[] = []
  try {
    for await (const message of iterate(peer.source<Message>('createHistoryStream', options))) {
      if (reverse) messages.push(message)
      else yield message
    }
  } catch (err) {
    throw peerError('createHistoryStream', err)
  }
  yield* messages.reverse()
}

/** Private messages to us shown decrypted, as the store shows them. */
function decrypter(identity: Identity): (message: Message) => Shown {
  const unboxer = createUnboxer(identity)
  return (message) => {
    const { content } = message.value
    if (typeof content !== 'string') return message
    const opened = unboxer.unbox(content)
    if (opened === null || typeof opened !== 'object' || Array.isArray(opened) || typeof (opened as { type?: unknown }).type !== 'string') return message
    return { ...message, value: { ...message.value, content: opened as Content }, private: true }
  }
}

function parseLimit(text: string): number {
  const limit = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(limit) || limit < 1) throw usageError(`--limit must be a positive whole number, not ${JSON.stringify(text)}`)
  return limit
}

/** `#seq  time  %key  type: text`, safe to print: other people's text cannot drive the terminal. */
export function formatLine(message: Pick<IndexedMessage, 'key' | 'value' | 'private'>): string {
  const { sequence, timestamp, content } = message.value
  const time = Number.isFinite(timestamp) && Math.abs(timestamp) <= 8.64e15 ? new Date(timestamp).toISOString() : String(timestamp)
  let summary: string
  if (message.private) summary = `(private) ${describeContent(content)}`
  else if (isBoxedContent(content)) summary = '(private)'
  else summary = describeContent(content)
  return `#${sequence}  ${time}  ${message.key}  ${summary}`
}

function describeContent(content: unknown): string {
  if (content === null || typeof content !== 'object' || Array.isArray(content)) return excerpt(JSON.stringify(content) ?? '')
  const { type, text } = content as { type?: unknown; text?: unknown }
  const label = typeof type === 'string' ? excerpt(type) : '(no type)'
  return typeof text === 'string' && text.trim() !== '' ? `${label}: ${excerpt(text)}` : label
}

/** One line of at most EXCERPT_LENGTH characters, with control characters (escapes) removed. */
function excerpt(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]+/g, ' ').replace(/\s+/g, ' ').trim()
  const chars = [...flat]
  return chars.length <= EXCERPT_LENGTH ? flat : `${chars.slice(0, EXCERPT_LENGTH - 1).join('')}…`
}
