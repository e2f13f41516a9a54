// The crash suite's full-disk target: a data directory on a small tmpfs, filled by the CLI's
// import (after a few publishes) and, separately, by a peer replicating into it. Each time the
// disk fills, the product must say so clearly (the store's ESTORE_DISK_FULL, not a raw stack)
// and stay sound: once the tmpfs is remounted bigger, the store opens, assertConsistent holds,
// everything acknowledged is there, and the import, publishing and replication finish.
//
// Mounting needs root. Where a plain `mount` is refused, crash.ts runs this file as a child
// under `unshare --mount --map-root-user`, which prints the row as `row JSON`.
import { execFile } from 'node:child_process'
import { mkdir, rmdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { FeedId, MessageId } from '@hearsay/keys'
import { loadIdentity, openDataDirStore } from '@hearsay/service'
import { assertConsistent, fixtureFeeds, NDJSON_10K } from '../../packages/store/src/testing/fixtures.ts'
import { seededRandom, type StressRow } from '../harness.ts'
import {
  REPLICATE_CHILD, checkOwnFeed, killPoints, lostOf, messageOf, replicateToEnd, runCli, startVictim, tail, withStore, type ChildEnd,
} from './helpers.ts'

const run = promisify(execFile)
const SELF = fileURLToPath(import.meta.url)
/** tmpfs sizes to fill, in KiB: each smaller than the 10k fixture's store (~6 MB before compaction). */
const DISK_SIZES_KIB = [1536, 2048, 3072, 4096]
const ROOMY = '64m'
/** What the store says of a full disk (StoreError ESTORE_DISK_FULL). */
const DISK_FULL = /the disk holding the store at .* is full \(no space left on device\)/

export interface ReplicationSource {
  address: string
  feedsFile: string
  /** Messages the source holds. */
  messages: number
}

export interface FullDiskOptions {
  /** An empty directory to mount the tmpfs disks under. */
  root: string
  /** How many disk sizes to fill (seeded), each with both the CLI and the replication case. */
  sizes: number
  seed: number
  replication: ReplicationSource
}

/** True when this process may mount a tmpfs (tried on a probe), else why not. */
export async function canMount(root: string): Promise<true | string> {
  const probe = path.join(root, 'probe')
  await mkdir(probe)
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])
    await run('umount', [probe])
    return true
  } catch (err) {
    return messageOf(err)
  } finally {
    await rmdir(probe)
  }
}

/** Runs the target in a child under `unshare --mount --map-root-user`, for when `mount` is refused here. */
export async function runFullDiskUnshared(options: FullDiskOptions, refused: string): Promise<StressRow> {
  const unshared = await startVictim(SELF, [JSON.stringify(options)], () => {}, ['unshare', '--mount', '--map-root-user']).ended.then(
    (end) => ({ row: end.stdout.split('\n').find((text) => text.startsWith('row ')), why: `exit ${end.code}: ${tail(end.stderr)}` }),
    (err: unknown) => ({ row: undefined, why: messageOf(err) }),
  )
  if (!unshared.row) {
    throw new Error(`the full-disk target needs a small tmpfs: mount was refused (${refused}), and so was running under unshare --mount --map-root-user (${unshared.why})`)
  }
  return JSON.parse(unshared.row.slice(4)) as StressRow
}

export async function runFullDisk(options: FullDiskOptions): Promise<StressRow> {
  const row: StressRow = { target: 'crash: full disk (tmpfs)', tried: 0, unit: 'disk-full events', detail: '', failures: [] }
  const random = seededRandom(options.seed + 5)
  const expected = await fixtureFeeds()
  const sizes = killPoints(random, options.sizes, 0, DISK_SIZES_KIB.length).map((i) => DISK_SIZES_KIB[i]!)
  const details: string[] = []
  for (const [i, size] of sizes.entries()) {
    const cli = await onDisk(path.join(options.root, `cli-${i}`), size, (disk) => cliCase(disk, expected, row))
    const replica = await onDisk(path.join(options.root, `replica-${i}`), size, (disk) => replicationCase(disk, options.replication, expected, row))
    details.push(`${size} KiB: ${cli}; ${replica}`)
  }
  row.detail = `${details.join(' · ')} · lost 0 unless listed`
  return row
}

/** Mounts a tmpfs of `sizeKiB` at `dir` for `use` (which may remount it bigger), and unmounts it. */
async function onDisk(dir: string, sizeKiB: number, use: (disk: Disk) => Promise<string>): Promise<string> {
  await mkdir(dir)
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir])
  try {
    return await use({ dir, grow: async () => void (await run('mount', ['-o', `remount,size=${ROOMY}`, dir])) })
  } finally {
    await run('umount', [dir])
    await rmdir(dir)
  }
}

interface Disk {
  dir: string
  /** Remounts it with room to spare: the space freed. */
  grow(): Promise<void>
}

/** Whether a CLI run failed with the store's one-line full-disk message, and nothing else. */
function saysDiskFull(end: ChildEnd): boolean {
  const lines = end.stderr.trim().split('\n')
  return end.code === 1 && lines.length === 1 && lines[0]!.startsWith('hearsay: ') && DISK_FULL.test(lines[0]!)
}

/** Publishes from the CLI, returning its sequence and id, or the run that failed. */
async function cliPublish(data: string, text: string): Promise<{ sequence: number; id: MessageId } | ChildEnd> {
  const end = await runCli(['publish', '--type', 'post', '--text', text, '--data', data])
  if (end.code !== 0) return end
  const { key, value } = JSON.parse(end.stdout) as { key: MessageId; value: { sequence: number } }
  return { sequence: value.sequence, id: key }
}

/** `hearsay publish` twice, then `hearsay import` of the 10k fixture until the disk is full. */
async function cliCase(disk: Disk, expected: Map<FeedId, MessageId[]>, row: StressRow): Promise<string> {
  const data = path.join(disk.dir, 'data')
  const fail = (what: string) => row.failures.push(`CLI on a ${path.basename(disk.dir)} disk: ${what}`)
  try {
    const init = await runCli(['init', '--data', data])
    if (init.code !== 0) throw new Error(`hearsay init failed: ${tail(init.stderr)}`)
    const acked = new Map<number, MessageId>()
    for (const n of [1, 2]) {
      const published = await cliPublish(data, `written before the disk filled (${n})`)
      if ('code' in published) throw new Error(`publishing on an empty disk failed: ${tail(published.stderr)}`)
      acked.set(published.sequence, published.id)
    }
    const filled = await runCli(['import', NDJSON_10K, '--data', data, '--quiet'])
    if (filled.code === 0) {
      fail('the import fit: the disk never filled')
      return 'CLI import never filled the disk'
    }
    if (saysDiskFull(filled)) row.tried++
    else fail(`the import on a full disk did not fail with the store's one-line full-disk error (exit ${filled.code}): ${tail(filled.stderr)}`)
    // On the full disk, a publish either fits or is refused with that same clear error.
    const squeezed = await cliPublish(data, 'written on a full disk')
    if ('code' in squeezed) {
      if (saysDiskFull(squeezed)) row.tried++
      else fail(`publishing on a full disk did not fail with the store's one-line full-disk error (exit ${squeezed.code}): ${tail(squeezed.stderr)}`)
    } else {
      acked.set(squeezed.sequence, squeezed.id)
    }

    await disk.grow()
    const identity = await loadIdentity(data)
    const checkStore = async () => {
      const store = await openDataDirStore(data, identity)
      try {
        const own = await checkOwnFeed(store, identity.id)
        for (const lost of lostOf(acked, own)) fail(`an acknowledged message is lost: ${lost}`)
        return { own, count: await assertConsistent(store, new Map([...expected, [identity.id, own]])) }
      } finally {
        await store.close()
      }
    }
    const afterFull = await checkStore()
    const resumed = await runCli(['import', NDJSON_10K, '--data', data, '--quiet', '--json'])
    if (resumed.code !== 0) throw new Error(`the import after freeing space failed: ${tail(resumed.stderr)}`)
    const result = JSON.parse(resumed.stdout) as { accepted: number; duplicates: number; rejectedCount: number }
    const imported = afterFull.count - afterFull.own.length
    if (result.accepted !== 10_000 - imported || result.duplicates !== imported || result.rejectedCount !== 0) {
      fail(`the import after freeing space said ${result.accepted} accepted, ${result.duplicates} held, ${result.rejectedCount} rejected; ${imported} were held before`)
    }
    const next = await cliPublish(data, 'written once there was room again')
    if ('code' in next) throw new Error(`publishing after freeing space failed: ${tail(next.stderr)}`)
    if (next.sequence !== afterFull.own.length + 1) fail(`publishing went on at ${next.sequence}, not ${afterFull.own.length + 1}`)
    acked.set(next.sequence, next.id)
    const final = await checkStore()
    if (final.count !== 10_000 + final.own.length) fail(`${final.count} messages in the end, not the fixture's 10,000 and ${final.own.length} own`)
    return `CLI import full at ${imported} msgs, ${acked.size} publishes acknowledged and kept`
  } catch (err) {
    fail(messageOf(err))
    return 'CLI case failed'
  }
}

/** A peer replicating the 10k fixture into the small disk until it is full. */
async function replicationCase(disk: Disk, source: ReplicationSource, expected: Map<FeedId, MessageId[]>, row: StressRow): Promise<string> {
  const storePath = path.join(disk.dir, 'db')
  const args = [storePath, source.address, source.feedsFile, String(source.messages)]
  const fail = (what: string) => row.failures.push(`replication on a ${path.basename(disk.dir)} disk: ${what}`)
  try {
    let reason: string | null = null
    let filledUp = true
    // The first error is the full disk; the peer must live on with it until told to stop.
    const end = await startVictim(REPLICATE_CHILD, args, (line, child) => {
      if (line.startsWith('done ')) filledUp = false
      else if (!line.startsWith('error ') || reason !== null) return
      else reason = line.slice(6)
      setTimeout(() => child.process.stdin!.end(), 500)
    }).ended
    if (!filledUp) {
      fail('every message fit: the disk never filled')
      return 'replication never filled the disk'
    }
    if (reason === null) fail(`the peer reported no error as the disk filled (exit ${end.code}): ${tail(end.stderr)}`)
    else if (!DISK_FULL.test(reason)) fail(`the peer's error does not say the disk is full: ${reason}`)
    if (end.code !== 0 || !/^closed$/m.test(end.stdout)) fail(`the peer did not stop cleanly on the full disk (exit ${end.code}, ${end.signal ?? 'no signal'}): ${tail(end.stderr)}`)
    else if (reason !== null && DISK_FULL.test(reason)) row.tried++

    await disk.grow()
    const held = await withStore(storePath, (store) => assertConsistent(store, expected))
    const resumed = await replicateToEnd(args)
    if (resumed.code !== 0 || !/^closed$/m.test(resumed.stdout)) fail(`replication after freeing space did not complete (exit ${resumed.code}): ${tail(resumed.stderr)}`)
    const total = await withStore(storePath, (store) => assertConsistent(store, expected))
    if (total !== source.messages) fail(`${total} messages after replicating again, not ${source.messages}`)
    return `replica full at ${held} msgs, then complete`
  } catch (err) {
    fail(messageOf(err))
    return 'replication case failed'
  }
}

if (process.argv[1] === SELF) {
  const row = await runFullDisk(JSON.parse(process.argv[2]!) as FullDiskOptions)
  process.stdout.write(`row ${JSON.stringify(row)}\n`)
}
