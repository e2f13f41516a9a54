import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir } from '../data.ts'
import { callPeer, connectRunning, usePeer } from '../running.ts'

export const whoami = defineCommand({
  name: 'whoami',
  summary: 'print your feed id',
  usage: 'whoami [--json] [--data DIR]',
  description: `
Prints the feed id of the identity in the data directory: the public name others
follow you by. While \`hearsay start\` runs there, the running peer answers; otherwise
it reads only the secret file (the store is not opened).`,
  options: {
    json: { type: 'boolean', description: 'print {"id": "@…"} as JSON instead of the bare id' },
    ...DATA_OPTION,
  },
  examples: ['hearsay whoami', 'hearsay whoami --json --data ./alice'],
  async run({ values }, { env, stdout }) {
    const dataDir = resolveDataDir(values.data, env)
    const client = await connectRunning(dataDir)
    const id = client
      ? await usePeer(client, async (peer) => (await callPeer<{ id: string }>(peer, 'whoami')).id)
      : (await loadIdentity(dataDir)).id
    await writeLine(stdout, values.json ? JSON.stringify({ id }) : id)
  },
})
