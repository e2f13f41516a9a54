// The crash suite: Hearsay killed outright (SIGKILL: no cleanup, no close) while it imports,
// replicates and publishes, at seeded points, and run out of disk space. After every kill the
// store must open and hold only whole, valid feed prefixes with indexes that agree with the log
// (assertConsistent), keep everything it acknowledged, and finish the work when run again.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { generateIdentity, type FeedId, type MessageId } from '@hearsay/keys'
import { Peer } from '@hearsay/network'
import { importMessages, openStore } from '@hearsay/store'
import { loadIdentity, openDataDirStore } from '@hearsay/service'
import { assertConsistent, fixtureFeeds, FLUME_10K, NDJSON_10K } from '../packages/store/src/testing/fixtures.ts'
import { seededRandom, stressSeed, type StressMode, type StressRow } from './harness.ts'
import {
  REPLICATE_CHILD, REPO, checkOwnFeed, killPoints, lostOf, messageOf, replicateToEnd, startVictim, tail, withStore, type ChildEnd,
} from './crash/helpers.ts'
import { canMount, runFullDisk, runFullDiskUnshared, type ReplicationSource } from './crash/full-disk.ts'

const IMPORT_CHILD = path.join(REPO, 'packages', 'store', 'src', 'testing', 'import-child.ts')
const PUBLISH_CHILD = path.join(REPO, 'stress', 'crash', 'publish-child.ts')
const FIXTURE_MESSAGES = 10_000
/** Longest wait after the line a kill follows: the kill lands anywhere in the work that follows. */
const MAX_KILL_DELAY_MS = 25

/** Kill points per target: about one in quick mode, at least ten in full. */
const PLAN = {
  quick: { importPerFixture: 1, replicate: 1, publish: 1, diskSizes: 1 },
  full: { importPerFixture: 7, replicate: 10, publish: 10, diskSizes: 2 },
} as const

type Expected = Map<FeedId, MessageId[]>

export async function run(mode: StressMode): Promise<StressRow[]> {
  const seed = stressSeed()
  const plan = PLAN[mode]
  const root = await mkdtemp(path.join(tmpdir(), 'hearsay-stress-crash-'))
  let source: SourcePeer | null = null
  try {
    const expected = await fixtureFeeds()
    source = await startSource(path.join(root, 'source'), expected)
    const rows: StressRow[] = []
    rows.push(await importRow(root, expected, plan.importPerFixture, seed))
    rows.push(await replicationRow(root, source, plan.replicate, seed))
    rows.push(await publishRow(root, plan.publish, seed))
    const replication: ReplicationSource = { address: source.address, feedsFile: source.feedsFile, messages: FIXTURE_MESSAGES }
    const fullDiskOptions = { root: path.join(root, 'disk'), sizes: plan.diskSizes, seed, replication }
    await mkdir(fullDiskOptions.root)
    const mountable = await canMount(fullDiskOptions.root)
    rows.push(mountable === true ? await runFullDisk(fullDiskOptions) : await runFullDiskUnshared(fullDiskOptions, mountable))
    return rows
  } finally {
    await source?.stop()
    await rm(root, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL during import

async function importRow(root: string, expected: Expected, killsPerFixture: number, seed: number): Promise<StressRow> {
  const row: StressRow = { target: 'crash: SIGKILL during import', tried: 0, unit: 'crash points', detail: '', failures: [] }
  const details: string[] = []
  for (const [name, file, salt] of [['NDJSON', NDJSON_10K, 1], ['flume log.offset', FLUME_10K, 2]] as const) {
    const random = seededRandom(seed + salt)
    // Below the import's last chunks, so that a kill still finds work to interrupt.
    const offsets = killPoints(random, killsPerFixture, 100, FIXTURE_MESSAGES - 1500)
    const storePath = path.join(root, `import-${salt}`)
    let held = 0
    const heldAtKills: number[] = []
    try {
      for (const offset of offsets) {
        const wait = Math.floor(random() * MAX_KILL_DELAY_MS)
        // A kill that landed late may have let the import finish: nothing is left to interrupt.
        if (held === FIXTURE_MESSAGES) break
        const end = await killOnLine(IMPORT_CHILD, [storePath, file], (line) => line.startsWith('stored ') && Number(line.slice(7)) >= offset, wait)
        const count = end.signal === 'SIGKILL' || end.code === 0 ? await withStore(storePath, (store) => assertConsistent(store, expected)) : null
        if (count === null) {
          row.failures.push(`${name}: the import child was to be killed at offset ${offset} but exited with ${end.code}: ${tail(end.stderr)}`)
          continue
        }
        if (end.signal !== 'SIGKILL') {
          // The rest of the import took less time than the kill took to land: nothing crashed.
          held = count
          break
        }
        if (count < held) row.failures.push(`${name}: killed at offset ${offset} (+${wait} ms): ${count} messages held, ${held} before: ${held - count} lost`)
        held = count
        heldAtKills.push(count)
        row.tried++
      }
      const end = await killOnLine(IMPORT_CHILD, [storePath, file], () => false, 0)
      const done = doneLine(end)
      const want = { read: FIXTURE_MESSAGES, accepted: FIXTURE_MESSAGES - held, duplicates: held, rejectedCount: 0 }
      if (end.code !== 0 || !done) {
        row.failures.push(`${name}: the resumed import failed (exit ${end.code}): ${tail(end.stderr)}`)
      } else if (done.read !== want.read || done.accepted !== want.accepted || done.duplicates !== want.duplicates || done.rejectedCount !== 0) {
        row.failures.push(`${name}: the resumed import said ${JSON.stringify(done)}, not ${JSON.stringify(want)}`)
      }
      const total = await withStore(storePath, async (store) => {
        const count = await assertConsistent(store, expected)
        for (const [feed, ids] of expected) {
          if ((await store.feedStatus(feed))?.id !== ids.at(-1)) throw new Error(`${feed} is incomplete after the resumed import`)
        }
        return count
      })
      if (total !== FIXTURE_MESSAGES) row.failures.push(`${name}: ${total} messages after the resumed import, not ${FIXTURE_MESSAGES}`)
    } catch (err) {
      row.failures.push(`${name}: ${messageOf(err)} (seed ${seed})`)
    }
    details.push(`${name} killed at offsets ${offsets.join(',')} (held ${heldAtKills.join(',')})`)
  }
  row.detail = `${details.join(' · ')} · resumed to ${FIXTURE_MESSAGES.toLocaleString('en')} msgs each, none twice · lost 0 unless listed`
  return row
}

// ---------------------------------------------------------------------------------------------
// 2. SIGKILL during replication

interface SourcePeer {
  address: string
  feedsFile: string
  /** Each feed's message ids as the source holds them: what a replica must end up identical to. */
  feeds: Expected
  stop(): Promise<void>
}

/** A Hearsay peer in this process holding the whole fixture, serving it on 127.0.0.1. */
async function startSource(dir: string, expected: Expected): Promise<SourcePeer> {
  const store = await openStore({ path: path.join(dir, 'db'), create: true })
  let peer: Peer | null = null
  try {
    const imported = await importMessages(store, NDJSON_10K)
    if (imported.accepted !== FIXTURE_MESSAGES) throw new Error(`the source peer stored ${imported.accepted} of the fixture's ${FIXTURE_MESSAGES} messages`)
    const feeds: Expected = new Map()
    for (const feed of expected.keys()) {
      const ids: MessageId[] = []
      for await (const message of store.readFeed(feed)) ids.push(message.key)
      feeds.set(feed, ids)
    }
    const feedsFile = path.join(dir, 'feeds.json')
    await writeFile(feedsFile, JSON.stringify([...feeds.keys()]))
    peer = new Peer({ store, identity: generateIdentity(), host: '127.0.0.1', port: 0, replicate: { feeds: [...expected.keys()], hops: 0 } })
    await peer.start()
    if (!peer.address) throw new Error('the source peer is not listening')
    const started = peer
    return {
      address: peer.address,
      feedsFile,
      feeds,
      async stop() {
        await started.stop()
        await store.close()
      },
    }
  } catch (err) {
    await peer?.stop()
    await store.close()
    throw err
  }
}

async function replicationRow(root: string, source: SourcePeer, kills: number, seed: number): Promise<StressRow> {
  const row: StressRow = { target: 'crash: SIGKILL during replication (EBT)', tried: 0, unit: 'crash points', detail: '', failures: [] }
  const random = seededRandom(seed + 3)
  const offsets = killPoints(random, kills, 50, FIXTURE_MESSAGES - 100)
  const storePath = path.join(root, 'replica')
  const args = [storePath, source.address, source.feedsFile, String(FIXTURE_MESSAGES)]
  const expected = source.feeds
  let held = 0
  const heldAtKills: number[] = []
  try {
    for (const offset of offsets) {
      const wait = Math.floor(random() * MAX_KILL_DELAY_MS)
      const end = await killOnLine(REPLICATE_CHILD, args, (line) => (line.startsWith('stored ') && Number(line.slice(7)) >= offset) || line.startsWith('done '), wait)
      if (end.signal !== 'SIGKILL') {
        row.failures.push(`the replicating child was to be killed at ${offset} messages but exited with ${end.code}: ${tail(end.stderr)}`)
        continue
      }
      const count = await withStore(storePath, (store) => assertConsistent(store, expected))
      if (count < held) row.failures.push(`killed at ${offset} messages (+${wait} ms): ${count} held, ${held} before: ${held - count} lost`)
      held = count
      heldAtKills.push(count)
      row.tried++
    }
    const end = await replicateToEnd(args)
    if (end.code !== 0 || !/^done /m.test(end.stdout) || !/^closed$/m.test(end.stdout)) {
      row.failures.push(`the resumed replication did not complete and close (exit ${end.code}${end.timedOut ? ', timed out' : ''}): ${tail(end.stderr)}`)
    }
    const total = await withStore(storePath, async (store) => {
      const count = await assertConsistent(store, expected)
      for (const [feed, ids] of expected) {
        if ((await store.feedStatus(feed))?.id !== ids.at(-1)) throw new Error(`${feed} is not identical to the source's after resuming`)
      }
      return count
    })
    if (total !== FIXTURE_MESSAGES) row.failures.push(`${total} messages after resuming, not the source's ${FIXTURE_MESSAGES}`)
  } catch (err) {
    row.failures.push(`${messageOf(err)} (seed ${seed})`)
  }
  row.detail = `killed at ${offsets.join(',')} msgs (held ${heldAtKills.join(',')}) · resumed to ${expected.size} feeds identical to the source (${FIXTURE_MESSAGES.toLocaleString('en')} ids) · lost 0 unless listed`
  return row
}

// ---------------------------------------------------------------------------------------------
// 3. SIGKILL during publish

async function publishRow(root: string, kills: number, seed: number): Promise<StressRow> {
  const row: StressRow = { target: 'crash: SIGKILL during publish', tried: 0, unit: 'crash points', detail: '', failures: [] }
  const random = seededRandom(seed + 4)
  const dataDir = path.join(root, 'publisher')
  const acked = new Map<number, MessageId>()
  let heldIds: MessageId[] = []
  const killedAfter: number[] = []
  try {
    // The last run only shows that publishing goes on at the next sequence after the last kill.
    for (let run = 0; run <= kills; run++) {
      const after = run === kills ? 1 : 1 + Math.floor(random() * 30)
      const wait = Math.floor(random() * MAX_KILL_DELAY_MS)
      let firstSequence: number | null = null
      let published = 0
      const end = await killOnLine(PUBLISH_CHILD, [dataDir, '3'], (line) => {
        const match = /^published (\d+) (\S+)$/.exec(line)
        if (!match) return false
        const sequence = Number(match[1])
        acked.set(sequence, match[2] as MessageId)
        firstSequence ??= sequence
        return ++published === after
      }, wait)
      if (end.signal !== 'SIGKILL') {
        row.failures.push(`the publishing child was to be killed after ${after} publishes but exited with ${end.code}: ${tail(end.stderr)}`)
        break
      }
      if (firstSequence !== heldIds.length + 1) {
        row.failures.push(`run ${run + 1} published sequence ${firstSequence} first, but the store held ${heldIds.length}: it must go on at ${heldIds.length + 1}`)
      }
      const identity = await loadIdentity(dataDir)
      const store = await openDataDirStore(dataDir, identity)
      try {
        const ids = await checkOwnFeed(store, identity.id)
        const rewritten = heldIds.findIndex((id, i) => ids[i] !== id)
        if (rewritten >= 0) row.failures.push(`after kill ${run + 1}, sequence ${rewritten + 1} is ${ids[rewritten] ?? 'gone'}, not ${heldIds[rewritten]} as before`)
        for (const lost of lostOf(acked, ids)) row.failures.push(`after kill ${run + 1} (${after} publishes, +${wait} ms), an acknowledged message is lost: ${lost}`)
        await assertConsistent(store, new Map([[identity.id, ids]]))
        heldIds = ids
      } finally {
        await store.close()
      }
      killedAfter.push(after)
      row.tried++
    }
  } catch (err) {
    row.failures.push(`${messageOf(err)} (seed ${seed})`)
  }
  row.detail = `startApp + publishPost, 3 in flight, killed after ${killedAfter.join(',')} acks · ${acked.size} acknowledged, ${heldIds.length} held, chain valid, never forked · lost ${acked.size - [...acked].filter(([s, id]) => heldIds[s - 1] === id).length}`
  return row
}

// ---------------------------------------------------------------------------------------------

/** Runs a child, SIGKILLing it `wait` ms after the first line `killOn` accepts. */
async function killOnLine(file: string, args: readonly string[], killOn: (line: string) => boolean, wait: number): Promise<ChildEnd> {
  let triggered = false
  const victim = startVictim(file, args, (line, child) => {
    if (triggered || !killOn(line)) return
    triggered = true
    if (wait === 0) child.kill()
    else void delay(wait).then(() => child.kill())
  })
  return victim.ended
}

function doneLine(end: ChildEnd): { read: number; accepted: number; duplicates: number; rejectedCount: number } | null {
  const line = end.stdout.split('\n').find((text) => text.startsWith('done '))
  return line ? JSON.parse(line.slice(5)) : null
}
