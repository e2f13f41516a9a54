import { isFeedId, type FeedId } from '@hearsay/keys'
import { checkContent, MAX_MESSAGE_LENGTH, MessageError, signedLength, type Content, type Message } from '@hearsay/message'
import { boxContent } from '@hearsay/box1'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { usageError } from '../errors.ts'
import { callPeer, connectRunning, usePeer } from '../running.ts'

/** box1's limit: one key slot per recipient, at most 7. */
export const MAX_RECIPIENTS = 7

type ContentObject = { type: string; [field: string]: unknown }

export const publish = defineCommand({
  name: 'publish',
  summary: 'sign a message and append it to your feed',
  usage: 'publish (--type TYPE [--text TEXT] | --json JSON) [--recps IDS] [--data DIR]',
  description: `
Signs the next message of your feed with the given content, appends it to the store
and prints it as one JSON line: {"key": "%…", "value": {…}, "timestamp": …}.

Give the content either as --type (with an optional --text), or whole as --json.
With --recps the message is private: its content gets a "recps" list (you first,
then the recipients) and is encrypted with box1 so that only those feeds can read
it; everyone still sees that you published a message, and when.

While \`hearsay start\` runs on the data directory, the running peer publishes it (and
sends it on to connected peers); otherwise it is written to the store directly.`,
  options: {
    type: { type: 'string', value: 'TYPE', description: 'content type, 3 to 52 characters (e.g. post)' },
    text: { type: 'string', value: 'TEXT', description: 'the content\'s "text" field (only with --type)' },
    json: { type: 'string', value: 'JSON', description: 'the whole content, a JSON object with a "type" (instead of --type)' },
    recps: {
      type: 'string',
      value: 'IDS',
      description: `comma-separated feed ids to encrypt to (you are added; at most ${MAX_RECIPIENTS} feeds in all)`,
    },
    ...DATA_OPTION,
  },
  examples: [
    'hearsay publish --type post --text "hello, world"',
    'hearsay publish --json \'{"type":"contact","contact":"@…=.ed25519","following":true}\'',
    'hearsay publish --type post --text "just us" --recps @…=.ed25519',
  ],
  async run({ values }, { env, stdout }) {
    const content = contentFromArgs(values)
    const recipients = values.recps === undefined ? undefined : parseRecipients(values.recps)
    const dataDir = resolveDataDir(values.data, env)

    const identity = await loadIdentity(dataDir)
    let final: Content = content
    if (recipients !== undefined) {
      const recps = [...new Set<FeedId>([identity.id, ...recipients])]
      if (recps.length > MAX_RECIPIENTS) {
        throw usageError(`--recps: box1 can encrypt to at most ${MAX_RECIPIENTS} feeds, and with you that makes ${recps.length}`)
      }
      final = boxContent({ ...content, recps }, recps)
    }
    // The store would refuse an oversized message too, but only after opening it; the smallest
    // message this content can make (the feed's first) is measured here instead.
    const length = signedLength({ previous: null, sequence: 1, author: identity.id, timestamp: Date.now(), hash: 'sha256', content: final })
    if (length > MAX_MESSAGE_LENGTH) {
      throw new MessageError('EMSG_TOO_LARGE', `the message would be ${length} characters long once signed; the limit is ${MAX_MESSAGE_LENGTH}`)
    }

    const client = await connectRunning(dataDir)
    const message = client
      ? await usePeer(client, (peer) => callPeer<Message>(peer, 'publish', final))
      : await withStore(dataDir, identity, (store) => store.publish(identity, final))
    await writeLine(stdout, JSON.stringify({ key: message.key, value: message.value, timestamp: message.timestamp }))
  },
})

/** The content the flags describe, checked as the network would check it; usage errors if not. */
export function contentFromArgs(values: { type?: string; text?: string; json?: string }): ContentObject {
  if (values.type !== undefined && values.json !== undefined) throw usageError('give the content with --type or with --json, not both')
  let content: ContentObject
  if (values.json !== undefined) {
    if (values.text !== undefined) throw usageError('--text goes with --type; with --json, put "text" in the JSON')
    content = parseJsonContent(values.json)
  } else if (values.type !== undefined) {
    content = values.text === undefined ? { type: values.type } : { type: values.type, text: values.text }
  } else {
    throw usageError('nothing to publish: give --type TYPE [--text TEXT] or --json JSON (see `hearsay publish --help`)')
  }
  checkContent(content)
  return content
}

function parseJsonContent(text: string): ContentObject {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw usageError(`--json is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed
    throw usageError(`--json must be a JSON object with a "type", not ${kind}`)
  }
  if ('recps' in parsed) {
    // Content with recps published in the clear would expose what was meant to be private.
    throw usageError('--json content has "recps": name private recipients with --recps, which encrypts the message')
  }
  return parsed as ContentObject
}

/** The feed ids of `--recps @a,@b`, each checked to be canonical. */
export function parseRecipients(text: string): FeedId[] {
  const ids = text.split(',').map((id) => id.trim()).filter((id) => id !== '')
  if (ids.length === 0) throw usageError('--recps needs at least one feed id')
  for (const id of ids) {
    if (!isFeedId(id)) throw usageError(`--recps: not a feed id (@<base64 32 bytes>.ed25519): ${JSON.stringify(id)}`)
  }
  const unique = [...new Set(ids)]
  if (unique.length > MAX_RECIPIENTS) throw usageError(`--recps: box1 can encrypt to at most ${MAX_RECIPIENTS} feeds, got ${unique.length}`)
  return unique as FeedId[]
}
