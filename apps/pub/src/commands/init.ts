import { promises as fs } from 'node:fs'
import { generateIdentity, readSecretFile, SecretFileError, type Identity } from '@hearsay/keys'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, initialiseDataDir, resolveDataDir, secretPath } from '../data.ts'
import { CliError, usageError } from '../errors.ts'

export const init = defineCommand({
  name: 'init',
  summary: 'create your identity and message store (or adopt an SSB secret)',
  usage: 'init [--secret FILE] [--data DIR]',
  description: `
Creates the data directory with a new ed25519 identity in DIR/secret (readable only
by you) and an empty message store in DIR/db, then prints your feed id.

With --secret, adopts an existing SSB identity instead (such as ~/.ssb/secret from
Patchwork or ssb-server). If that identity has already published elsewhere, do not
publish here until its feed has been replicated into this store: starting it again
at message 1 would fork the feed, and peers stop replicating forked feeds.

An existing secret is never overwritten: init on an initialised directory fails.`,
  options: {
    secret: { type: 'string', value: 'FILE', description: 'adopt the identity in this SSB secret file instead of creating one' },
    ...DATA_OPTION,
  },
  examples: ['hearsay init', 'hearsay init --secret ~/.ssb/secret --data ./patchwork-me'],
  async run({ values }, { env, stdout, stderr }) {
    const dataDir = resolveDataDir(values.data, env)
    // Everything that can be refused is checked before anything is written.
    let identity: Identity
    if (values.secret !== undefined) {
      if (values.secret.trim() === '') throw usageError('--secret needs a file name, not an empty string')
      identity = await readSecretFile(values.secret)
    } else {
      identity = generateIdentity()
    }
    const secret = secretPath(dataDir)
    await refuseExisting(secret)

    try {
      await initialiseDataDir(dataDir, identity)
    } catch (err) {
      if (err instanceof SecretFileError && err.code === 'ESECRETEXISTS') throw alreadyInitialised(secret)
      throw err
    }
    await writeLine(stdout, identity.id)
    if (values.secret !== undefined) {
      await writeLine(stderr, 'hearsay: note: do not publish until this identity\'s existing feed has been replicated here, or it will fork')
    }
  },
})

function alreadyInitialised(secret: string): CliError {
  return new CliError(`already initialised: ${secret} exists, and is never overwritten`)
}

async function refuseExisting(secret: string): Promise<void> {
  try {
    await fs.lstat(secret)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  throw alreadyInitialised(secret)
}
