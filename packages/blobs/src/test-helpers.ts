import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { toBlobId, type BlobId } from '@hearsay/keys'
import { openBlobStore, type BlobStore, type BlobStoreOptions } from './store.ts'

interface Teardown {
  after(fn: () => unknown): void
}

/** A temp directory removed when the test ends. */
export async function tempDir(t: Teardown, prefix = 'hearsay-blobs-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A store in a fresh temp directory, closed when the test ends. */
export async function tempStore(t: Teardown, options: Partial<BlobStoreOptions> = {}): Promise<BlobStore> {
  const store = await openBlobStore({ dir: path.join(await tempDir(t), 'blobs'), ...options })
  t.after(() => store.close())
  return store
}

export function idOf(bytes: Uint8Array): BlobId {
  return toBlobId(createHash('sha256').update(bytes).digest())
}

export async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Every file under `dir`, as sorted paths relative to it (with `/`). */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'))
    .sort()
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** `buffer` in pieces of `size` bytes. */
export function* chunked(buffer: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size)
}
