import { promises as fs, type Stats } from 'node:fs'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { blobHash, toBlobId, type BlobId } from '@hearsay/keys'
import { BlobError } from './errors.ts'
import { ALG_DIR, EMPTY_BLOB_ID, TMP_DIR, blobIdFromNames, blobPath } from './layout.ts'

/** Bytes to store: a whole buffer, or chunks (a Node Readable is an async iterable of Buffers). */
export type BlobInput = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array | string>

export interface BlobMeta {
  id: BlobId
  size: number
  /** When the file was stored (ctime, ms), as multiblob's `meta`/`ls({meta})` report it. */
  ts: number
}

export interface AddOptions {
  /** Give up with EBLOB_TOO_BIG once more than this many bytes arrive (for blobs from peers). */
  max?: number
}

export interface ReadOptions {
  /** Fail with EBLOB_SIZE unless the blob is exactly this long (ssb-blobs' `get({size})`). */
  size?: number
  /** Fail with EBLOB_TOO_BIG if the blob is longer than this (ssb-blobs' `get({max})`). */
  max?: number
}

// Temporary files older than this when a store opens are leftovers of a crash. Younger ones
// may belong to another store open on the same folder, mid-write, so they are left alone.
const STALE_TMP_MS = 60 * 60 * 1000

let counter = 0

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

function toMeta(id: BlobId, stat: Stats): BlobMeta {
  return { id, size: stat.size, ts: stat.ctimeMs }
}

async function* chunksOf(input: BlobInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    yield input
    return
  }
  for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
  }
}

/** The durable part of rename: without it a crash can forget the new directory entry. */
async function syncDirectory(dir: string): Promise<void> {
  let handle
  try {
    handle = await fs.open(dir, 'r')
    await handle.sync()
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close()
  }
}

/**
 * The blob files themselves: content-addressed, written through a verified temporary file, read
 * by offset. Knows nothing about peers.
 */
export class BlobFiles {
  readonly dir: string
  private readonly tmpDir: string
  private readonly addListeners = new Set<(meta: BlobMeta) => void>()

  private constructor(dir: string) {
    this.dir = path.resolve(dir)
    this.tmpDir = path.join(this.dir, TMP_DIR)
  }

  static async open(dir: string): Promise<BlobFiles> {
    const files = new BlobFiles(dir)
    await fs.mkdir(files.tmpDir, { recursive: true })
    await files.removeStaleTemporaries()
    return files
  }

  private async removeStaleTemporaries(): Promise<void> {
    const cutoff = Date.now() - STALE_TMP_MS
    for (const name of await fs.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name)
      try {
        const stat = await fs.stat(file)
        if (stat.isFile() && stat.mtimeMs < cutoff) await fs.rm(file, { force: true })
      } catch {
        // Gone already (another store cleaning up) or unreadable: not ours to worry about.
      }
    }
  }

  /** Called after every successful add, with the stored blob's meta. Returns an unsubscribe. */
  onAdd(listener: (meta: BlobMeta) => void): () => void {
    this.addListeners.add(listener)
    return () => this.addListeners.delete(listener)
  }

  path(id: BlobId): string {
    return blobPath(this.dir, id)
  }

  /**
   * Stores `input` and resolves with its id. The bytes go to a fresh file in `tmp/` while they
   * are hashed, are fsynced, and only then renamed onto the blob's path, so a blob path never
   * holds partial or unverified bytes. With `expectedId`, bytes hashing to anything else are
   * discarded (EBLOB_HASH). Adding a blob that is already there just replaces it with the same
   * bytes, so concurrent adds of one blob are harmless.
   */
  async add(input: BlobInput, expectedId?: BlobId, options: AddOptions = {}): Promise<BlobId> {
    if (expectedId !== undefined) blobHash(expectedId) // throws InvalidRefError before any I/O
    const max = options.max ?? Infinity
    const tmpFile = path.join(this.tmpDir, `${process.pid}-${Date.now()}-${counter++}-${randomBytes(4).toString('hex')}`)
    const handle = await this.createTemporary(tmpFile)
    let renamed = false
    try {
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of chunksOf(input)) {
        size += chunk.byteLength
        if (size > max) throw new BlobError('EBLOB_TOO_BIG', `${expectedId ?? 'blob'} is larger than the ${max} byte limit`)
        hash.update(chunk)
        await handle.write(chunk)
      }
      await handle.sync()
      await handle.close()
      const id = toBlobId(hash.digest())
      if (expectedId !== undefined && id !== expectedId) {
        throw new BlobError('EBLOB_HASH', `blob hashed to ${id}, not the expected ${expectedId}`)
      }
      const target = blobPath(this.dir, id)
      await fs.mkdir(path.dirname(target), { recursive: true })
      await fs.rename(tmpFile, target)
      renamed = true
      await syncDirectory(path.dirname(target))
      const meta: BlobMeta = { id, size, ts: Date.now() }
      for (const listener of [...this.addListeners]) listener(meta)
      return id
    } finally {
      if (!renamed) {
        await handle.close().catch(() => {}) // already closed on the success path
        await fs.rm(tmpFile, { force: true })
      }
    }
  }

  private async createTemporary(file: string): Promise<fs.FileHandle> {
    try {
      return await fs.open(file, 'wx')
    } catch (err) {
      // Someone removed tmp/ under us (ssb-blobs clears it whenever it opens the folder).
      if (!isCode(err, 'ENOENT')) throw err
      await fs.mkdir(this.tmpDir, { recursive: true })
      return await fs.open(file, 'wx')
    }
  }

  async has(id: BlobId): Promise<boolean> {
    return (await this.size(id)) !== null
  }

  /** The blob's length in bytes, or null when it is not stored. */
  async size(id: BlobId): Promise<number | null> {
    return (await this.meta(id))?.size ?? null
  }

  async meta(id: BlobId): Promise<BlobMeta | null> {
    const file = blobPath(this.dir, id)
    try {
      return toMeta(id, await fs.stat(file))
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err
      // Zero bytes hash to a known id; everyone "has" it without a file. (multiblob means to
      // do the same, but compares against the id without its `&`, so ssb-blobs never does.)
      return id === EMPTY_BLOB_ID ? { id, size: 0, ts: 0 } : null
    }
  }

  /** Reads the whole blob; rejects with EBLOB_MISSING (before any data) if it is not stored. */
  get(id: BlobId, options: ReadOptions = {}): Promise<Readable> {
    return this.read(id, 0, Infinity, options)
  }

  /**
   * Reads bytes [start, end) of the blob: `end` is exclusive, as in Buffer#subarray and in
   * multiblob's getSlice (pull-file reads `end - start` bytes), and is clamped to the blob's
   * length; a start at or past the end gives no bytes.
   */
  getSlice(id: BlobId, start: number, end: number, options: ReadOptions = {}): Promise<Readable> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      return Promise.reject(new BlobError('EBLOB_RANGE', `slice [${start}, ${end}) is not 0 <= start <= end`))
    }
    return this.read(id, start, end, options)
  }

  private async read(id: BlobId, start: number, end: number, options: ReadOptions): Promise<Readable> {
    const file = blobPath(this.dir, id)
    let handle
    try {
      // Opening first means a missing blob fails here, not mid-stream, and a concurrent rm
      // cannot cut the read short (the open file outlives the unlink).
      handle = await fs.open(file, 'r')
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err
      if (id !== EMPTY_BLOB_ID) throw new BlobError('EBLOB_MISSING', `no blob ${id}`, { cause: err })
      return this.checked(id, 0, options, () => Readable.from([]))
    }
    try {
      const { size } = await handle.stat()
      const last = Math.min(end, size)
      const opened = handle
      const stream = this.checked(id, size, options, () =>
        start >= last ? Readable.from([]) : opened.createReadStream({ start, end: last - 1 }),
      )
      if (start >= last) await handle.close()
      return stream
    } catch (err) {
      await handle.close()
      throw err
    }
  }

  private checked(id: BlobId, size: number, options: ReadOptions, stream: () => Readable): Readable {
    if (options.size !== undefined && options.size !== null && options.size !== size) {
      throw new BlobError('EBLOB_SIZE', `blob ${id} is ${size} bytes, not the requested ${options.size}`)
    }
    if (options.max !== undefined && options.max !== null && size > options.max) {
      throw new BlobError('EBLOB_TOO_BIG', `blob ${id} is ${size} bytes, over the ${options.max} byte limit`)
    }
    return stream()
  }

  /** Every stored blob id (or meta), in no particular order. Files that are not blobs are skipped. */
  ls(): AsyncIterable<BlobId>
  ls(options: { meta: true }): AsyncIterable<BlobMeta>
  ls(options?: { meta?: boolean }): AsyncIterable<BlobId | BlobMeta>
  async *ls(options: { meta?: boolean } = {}): AsyncIterable<BlobId | BlobMeta> {
    const root = path.join(this.dir, ALG_DIR)
    let prefixes: string[]
    try {
      prefixes = (await fs.readdir(root)).sort()
    } catch (err) {
      if (isCode(err, 'ENOENT')) return
      throw err
    }
    for (const prefix of prefixes) {
      let names: string[]
      try {
        names = (await fs.readdir(path.join(root, prefix))).sort()
      } catch (err) {
        if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) continue
        throw err
      }
      for (const rest of names) {
        const id = blobIdFromNames(prefix, rest)
        if (id === null) continue
        if (!options.meta) {
          yield id
          continue
        }
        try {
          const stat = await fs.stat(path.join(root, prefix, rest))
          if (stat.isFile()) yield toMeta(id, stat)
        } catch (err) {
          if (!isCode(err, 'ENOENT')) throw err // removed while listing
        }
      }
    }
  }

  /** Deletes the blob; resolves true if it was there. */
  async rm(id: BlobId): Promise<boolean> {
    try {
      await fs.unlink(blobPath(this.dir, id))
      return true
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false
      throw err
    }
  }
}
