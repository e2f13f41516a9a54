import { isFeedId, type FeedId } from '@hearsay/keys'
import { isBoxedContent } from '@hearsay/message'
import type { IndexedMessage } from '@hearsay/store'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { usageError } from '../errors.ts'

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
{"key", "value", "timestamp"}, exactly as held (private content stays encrypted).`,
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

    await withStore(dataDir, identity, async (store) => {
      // JSON shows messages exactly as stored; people see what was encrypted to them.
      const options = { limit, reverse: values.reverse ?? false, decrypt: !values.json }
      for await (const message of store.readFeed(author, options)) {
        const line = values.json
          ? JSON.stringify({ key: message.key, value: message.value, timestamp: message.timestamp })
          : formatLine(message)
        await writeLine(stdout, line)
      }
    })
  },
})

function parseLimit(text: string): number {
  const limit = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(limit) || limit < 1) throw usageError(`--limit must be a positive whole number, not ${JSON.stringify(text)}`)
  return limit
}

/** `#seq  time  %key  type: text`, safe to print: other people's text cannot drive the terminal. */
export function formatLine(message: IndexedMessage): string {
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
