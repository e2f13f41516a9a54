import { isFeedId } from '@hearsay/keys'
import type { Message } from '@hearsay/message'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { usageError } from '../errors.ts'
import { callPeer, connectRunning, usePeer } from '../running.ts'

export const follow = defineCommand({
  name: 'follow',
  summary: 'follow a feed (or stop following it), so it is replicated',
  usage: 'follow ID [--unfollow] [--data DIR]',
  maxPositionals: 1,
  description: `
Publishes a contact message saying you follow the feed ID (with --unfollow: that you
no longer do), and prints it as one JSON line, as \`hearsay publish\` does. The feeds
you follow, and theirs, are the ones your peer replicates. While \`hearsay start\`
runs on the data directory, the running peer publishes it and starts replicating
the feed at once; otherwise it is written to the store directly.`,
  options: {
    unfollow: { type: 'boolean', description: 'stop following ID instead' },
    ...DATA_OPTION,
  },
  examples: ['hearsay follow @…=.ed25519', 'hearsay follow @…=.ed25519 --unfollow'],
  async run({ values, positionals }, { env, stdout }) {
    const [feed] = positionals
    if (feed === undefined) throw usageError('follow needs the feed ID to follow (see `hearsay follow --help`)')
    if (!isFeedId(feed)) throw usageError(`not a feed id (@<base64 32 bytes>.ed25519): ${JSON.stringify(feed)}`)
    const following = !values.unfollow
    const dataDir = resolveDataDir(values.data, env)
    const identity = await loadIdentity(dataDir)
    if (feed === identity.id) throw usageError('that is your own feed: it is always replicated')
    const client = await connectRunning(dataDir)
    const message = client
      ? await usePeer(client, (peer) => callPeer<Message>(peer, 'friends.follow', feed, { state: following }))
      : await withStore(dataDir, identity, (store) => store.publish(identity, { type: 'contact', contact: feed, following }))
    await writeLine(stdout, JSON.stringify({ key: message.key, value: message.value, timestamp: message.timestamp }))
  },
})
