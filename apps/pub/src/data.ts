import type { Identity } from '@hearsay/keys'
import type { Store } from '@hearsay/store'
import {
  DataDirError, defaultDataDir, initialiseDataDir, isUninitialised, loadIdentity as loadDataDirIdentity, openDataDirStore, secretPath, storePath,
} from '@hearsay/service/data-dir'
import { CliError, EXIT_FAILURE, usageError } from './errors.ts'
import type { OptionSpecs } from './args.ts'

// Where the data directory is and how it is set up live in @hearsay/service, shared with the
// desktop app; this module turns their errors into the CLI's.
export { initialiseDataDir, isUninitialised, secretPath, storePath }

/** `--data DIR`, which every command that touches the data directory takes. */
export const DATA_OPTION = {
  data: {
    type: 'string',
    value: 'DIR',
    description: 'data directory (default: $HEARSAY_DATA, else ~/.hearsay)',
  },
} as const satisfies OptionSpecs

/** The data directory's absolute path: `--data`, else $HEARSAY_DATA, else ~/.hearsay. */
export function resolveDataDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  try {
    return defaultDataDir(flag, env)
  } catch (err) {
    if (err instanceof DataDirError) throw usageError(err.message)
    throw err
  }
}

/** The identity of an initialised data directory; reads, never writes. */
export async function loadIdentity(dataDir: string): Promise<Identity> {
  try {
    return await loadDataDirIdentity(dataDir)
  } catch (err) {
    if (err instanceof DataDirError) throw new CliError(err.message)
    throw err
  }
}

/**
 * Opens the data directory's store (see openDataDirStore: a missing one is an error, never made
 * afresh), runs `use`, and closes the store whatever happens. The store is always opened with
 * the owner's identity: it indexes private messages for one identity, and opening it as anyone
 * else rebuilds them.
 */
export async function withStore<T>(dataDir: string, identity: Identity, use: (store: Store) => Promise<T>): Promise<T> {
  let store: Store
  try {
    store = await openDataDirStore(dataDir, identity)
  } catch (err) {
    if (err instanceof DataDirError) throw new CliError(err.message, EXIT_FAILURE, { cause: err })
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
