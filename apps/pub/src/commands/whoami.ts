import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir } from '../data.ts'

export const whoami = defineCommand({
  name: 'whoami',
  summary: 'print your feed id',
  usage: 'whoami [--json] [--data DIR]',
  description: `
Prints the feed id of the identity in the data directory: the public name others
follow you by. It reads only the secret file; the store is not opened.`,
  options: {
    json: { type: 'boolean', description: 'print {"id": "@…"} as JSON instead of the bare id' },
    ...DATA_OPTION,
  },
  examples: ['hearsay whoami', 'hearsay whoami --json --data ./alice'],
  async run({ values }, { env, stdout }) {
    const identity = await loadIdentity(resolveDataDir(values.data, env))
    await writeLine(stdout, values.json ? JSON.stringify({ id: identity.id }) : identity.id)
  },
})
