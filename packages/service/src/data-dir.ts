// The data directory every way of running Hearsay shares (the CLI, `hearsay start`, the desktop
// app): where it is, and how a first run makes the identity in it. Light on purpose — imports
// only keys and node — so the CLI's quick commands can use it without loading LevelDB.
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readSecretFile, SecretFileError, writeSecretFile, type Identity } from '@hearsay/keys'
import type { OpenStoreOptions, Store } from '@hearsay/store'

/** A data directory that cannot be used as it is; `message` is written for the user. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError'
  constructor(
    readonly code: 'EDATA_MISSING' | 'EDATA_NOT_DIRECTORY' | 'EDATA_UNINITIALISED' | 'EDATA_NO_STORE' | 'EDATA_ARGUMENT',
    message: string,
  ) {
    super(message)
  }
}

const INIT_FIRST = 'run `hearsay init` first'

/**
 * The data directory's absolute path: `flag` (the CLI's --data), else $HEARSAY_DATA, else
 * ~/.hearsay. The CLI and the desktop app both call this, so a person has one identity whichever
 * they start.
 */
export function defaultDataDir(flag?: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new DataDirError('EDATA_ARGUMENT', '--data needs a directory, not an empty string')
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

export function blobsPath(dataDir: string): string {
  return path.join(dataDir, 'blobs')
}

/** Where a running peer listens for its owner's local clients (ssb-server's noauth socket). */
export function socketPath(dataDir: string): string {
  return path.join(dataDir, 'socket')
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
  // mkdir leaves a folder that already existed as it was, often 0755; the store will hold private
  // messages, so an empty one is made private too (one holding other things is not ours to change).
  if ((await fs.readdir(dataDir)).length === 0) await fs.chmod(dataDir, 0o700)
  // Loaded here: only initialisation needs LevelDB among this module's users.
  const { openStore } = await import('@hearsay/store')
  const store = await openStore({ path: storePath(dataDir), create: true, identity })
  await store.close()
  await writeSecretFile(secretPath(dataDir), identity)
}

/** The identity of an initialised data directory; reads, never writes. */
export async function loadIdentity(dataDir: string): Promise<Identity> {
  let stats
  try {
    stats = await fs.stat(dataDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DataDirError('EDATA_MISSING', `no data directory at ${dataDir} (${INIT_FIRST})`)
    throw err
  }
  if (!stats.isDirectory()) throw new DataDirError('EDATA_NOT_DIRECTORY', `${dataDir} is not a directory`)
  try {
    return await readSecretFile(secretPath(dataDir))
  } catch (err) {
    if (err instanceof SecretFileError && err.code === 'ESECRETMISSING') {
      throw new DataDirError('EDATA_UNINITIALISED', `${dataDir} is not initialised: it holds no secret (${INIT_FIRST})`)
    }
    throw err
  }
}

/**
 * What `hearsay start` and the desktop app do first: as ssb-server does, the first run makes the
 * identity — only where nothing exists yet, never beside a secret whose store is gone (that
 * would restart the feed and fork it). `created` tells whether it did.
 */
export async function prepareDataDir(dataDir: string, makeIdentity: () => Identity): Promise<{ identity: Identity; created: boolean }> {
  const created = await isUninitialised(dataDir)
  if (created) await initialiseDataDir(dataDir, makeIdentity())
  return { identity: await loadIdentity(dataDir), created }
}

/**
 * Opens the data directory's store as `identity`. A missing store is an error, never made
 * afresh: publishing into a new, empty store would restart the feed at sequence 1 and fork it.
 */
export async function openDataDirStore(dataDir: string, identity: Identity, options: Omit<OpenStoreOptions, 'path' | 'identity' | 'create'> = {}): Promise<Store> {
  const { openStore, StoreError } = await import('@hearsay/store')
  const location = storePath(dataDir)
  try {
    return await openStore({ ...options, path: location, identity })
  } catch (err) {
    if (err instanceof StoreError && err.code === 'ESTORE_MISSING') {
      throw new DataDirError('EDATA_NO_STORE', `${dataDir} holds a secret but no message store at ${location}; restore it rather than starting a new one, which would fork your feed`)
    }
    throw err
  }
}

/**
 * Replaces the secret of an initialised data directory with `identity`'s, atomically (written
 * beside it, then renamed over it), so a crash leaves the old secret or the new one, never none.
 */
export async function replaceSecret(dataDir: string, identity: Identity): Promise<void> {
  const target = secretPath(dataDir)
  const staged = `${target}.adopting`
  await fs.rm(staged, { force: true })
  await writeSecretFile(staged, identity)
  await fs.rename(staged, target)
}
