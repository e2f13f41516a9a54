import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readSecretFile, SecretFileError, writeSecretFile, type Identity } from '@hearsay/keys'
import type { Store } from '@hearsay/store'
import { CliError, EXIT_FAILURE, usageError } from './errors.ts'
import type { OptionSpecs } from './args.ts'

/** `--data DIR`, which every command that touches the data directory takes. */
export const DATA_OPTION = {
  data: {
    type: 'string',
    value: 'DIR',
    description: 'data directory (default: $HEARSAY_DATA, else ~/.hearsay)',
  },
} as const satisfies OptionSpecs

const INIT_FIRST = 'run `hearsay init` first'

/** The data directory's absolute path: `--data`, else $HEARSAY_DATA, else ~/.hearsay. */
export function resolveDataDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  if (flag !== undefined) {
    if (flag.trim() === '') throw usageError('--data needs a directory, not an empty string')
    return path.resolve(flag)
  }
  const fromEnv = env.HEARSAY_DATA
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv)
  return path.join(os.homedir(), '.hearsay')
}

export function secretPath(dataDir: string): string {
  return path.join(dataDir, 'secret')
}

export function storePath(dataDir: string): string {
  return path.join(dataDir, 'db')
}

/** Whether `dataDir` is absent or empty: the only state in which a new identity may be made there. */
export async function isUninitialised(dataDir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dataDir)).length === 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw err
  }
}

/**
 * Makes `dataDir` hold `identity`: the store first, then the secret. An initialisation cut off
 * before the secret is written is simply run again, whereas a secret without its store would
 * look initialised yet be unusable. Throws SecretFileError ESECRETEXISTS rather than overwrite.
 */
export async function initialiseDataDir(dataDir: string, identity: Identity): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  await withStore(dataDir, identity, async () => undefined, { create: true })
  await writeSecretFile(secretPath(dataDir), identity)
}

/** The identity of an initialised data directory; reads, never writes. */
export async function loadIdentity(dataDir: string): Promise<Identity> {
  let stats
  try {
    stats = await fs.stat(dataDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`no data directory at ${dataDir} (${INIT_FIRST})`)
    throw err
  }
  if (!stats.isDirectory()) throw new CliError(`${dataDir} is not a directory`)
  try {
    return await readSecretFile(secretPath(dataDir))
  } catch (err) {
    if (err instanceof SecretFileError && err.code === 'ESECRETMISSING') {
      throw new CliError(`${dataDir} is not initialised: it holds no secret (${INIT_FIRST})`)
    }
    throw err
  }
}

/**
 * Opens the data directory's store, runs `use`, and closes the store whatever happens. Without
 * `create`, a missing store is an error: publishing into a fresh, empty store would restart the
 * feed at sequence 1 and fork it. The store is always opened with the owner's identity: it
 * indexes private messages for one identity, and opening it as anyone else rebuilds them.
 */
export async function withStore<T>(
  dataDir: string,
  identity: Identity,
  use: (store: Store) => Promise<T>,
  { create = false } = {},
): Promise<T> {
  // Loaded on first use: commands that never open the store (help, whoami, and every usage
  // error) then start without loading LevelDB's native module.
  const { openStore, StoreError } = await import('@hearsay/store')
  const location = storePath(dataDir)
  let store: Store
  try {
    store = await openStore({ path: location, create, identity })
  } catch (err) {
    if (err instanceof StoreError && err.code === 'ESTORE_MISSING') {
      throw new CliError(
        `${dataDir} holds a secret but no message store at ${location}; restore it rather than starting a new one, which would fork your feed`,
        EXIT_FAILURE,
        { cause: err },
      )
    }
    throw err
  }
  let result: T
  try {
    result = await use(store)
  } catch (err) {
    // The command's own failure is the one to report, not a close that fails after it.
    await store.close().catch(() => undefined)
    throw err
  }
  await store.close()
  return result
}
