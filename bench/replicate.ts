// Two-peer replication: one peer holds the 100k fixture (1,000 feeds), the other starts empty,
// wants every one of those feeds, dials the first over 127.0.0.1 and replicates them all by EBT.
// Two Hearsay peers, then two ssb-server@16 peers (ssb-db, ssb-replicate, ssb-ebt) doing the
// same. Every peer runs in a child process of its own, so each one's peak memory is its own;
// loading the fixture into the full peer happens first, in a child of its own, and is not timed.
// The empty Hearsay peer is set up as the app is: every default index, and its owner's key to
// open private messages with; the empty ssb-server keeps ssb-db's own indexes only. Prints
// figures and ratios, wall time and CPU time (steadier on a shared machine); never asserts.
//
// `npm run bench -- replicate`, or standalone: `npx tsx bench/replicate.ts` (BENCH_FIXTURE=10k
// for a quick run).
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FeedId } from '@hearsay/keys'
import { messagesPath } from './fixtures.ts'
import { ceilingLine, verifyingAlone } from './ceiling.ts'
import { formatRate, megabytes, memorySampler, table, type MemoryFigures } from './harness.ts'

const FIXTURE = process.env.BENCH_FIXTURE === '10k' ? '10k' : '100k'
const SELF = fileURLToPath(import.meta.url)
const REPO = path.resolve(path.dirname(SELF), '..')
/** What the issue asks of Hearsay. */
const TARGET_RATE = 20_000
const TARGET_RATIO = 5
const TARGET_RSS = 300e6
/** BENCH_PROFILE=DIR: every peer writes a V8 CPU profile per thread into DIR (NODE_OPTIONS may not carry --cpu-prof). */
const PROFILE_ARGS = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : []

interface Seeded {
  accepted: number
  ms: number
}

interface SinkFigures extends MemoryFigures {
  /** From dialing to the last wanted message stored. */
  ms: number
  received: number
}

/**
 * CPU time is counted while replicating: from dialing to done for the empty peer, from listening
 * to being told to stop for the full one. On a shared machine, steadier than wall time.
 */
interface PairFigures {
  seedMs: number
  sink: SinkFigures
  source: MemoryFigures
}

export async function run(): Promise<void> {
  const file = messagesPath(FIXTURE)
  const root = await mkdtemp(path.join(tmpdir(), 'hearsay-bench-replicate-'))
  try {
    const authors = path.join(root, 'authors.json')
    const ours = await pair('hearsay', root, file, authors)
    console.log(`hearsay: ${ours.sink.received} messages in ${(ours.sink.ms / 1000).toFixed(1)} s (fixture loaded in ${(ours.seedMs / 1000).toFixed(1)} s, untimed)`)
    let theirs: PairFigures | null = null
    try {
      theirs = await pair('ssb-server', root, file, authors)
      console.log(`ssb-server: ${theirs.sink.received} messages in ${(theirs.sink.ms / 1000).toFixed(1)} s (fixture loaded in ${(theirs.seedMs / 1000).toFixed(1)} s, untimed)`)
    } catch (err) {
      console.log(`ssb-server could not run here, so there is no comparison: ${(err as Error).message}`)
    }

    const rate = (figures: PairFigures) => (figures.sink.received / figures.sink.ms) * 1000
    // Messages per CPU second of the empty peer: what it would do with a core of its own.
    const cpuRate = (figures: PairFigures) => (figures.sink.received / figures.sink.cpuMs) * 1000
    const row = (label: string, figures: PairFigures) => [
      label,
      formatRate(rate(figures)),
      (figures.sink.ms / 1000).toFixed(1),
      formatRate(cpuRate(figures)),
      (figures.source.cpuMs / 1000).toFixed(1),
      (figures.sink.cpuMs / 1000).toFixed(1),
      megabytes(figures.source.peakRss),
      megabytes(figures.source.maxRss),
      megabytes(figures.sink.peakRss),
      megabytes(figures.sink.maxRss),
    ]
    console.log()
    console.log(table(
      [`replicate msgs-${FIXTURE} over 127.0.0.1 by EBT`, 'msgs/s', 's', 'msgs/CPU s (empty peer)', 'CPU s full peer', 'CPU s empty peer',
        'full peer: peak RSS MB', 'max RSS MB', 'empty peer: peak RSS MB', 'max RSS MB'],
      [row('hearsay → hearsay', ours), ...(theirs ? [row('ssb-server → ssb-server', theirs)] : [])],
    ))
    console.log()
    const heaviest = Math.max(ours.source.maxRss, ours.sink.maxRss)
    console.log(`hearsay: ${formatRate(rate(ours))} msgs/s (target ≥ ${formatRate(TARGET_RATE)}: ${(rate(ours) / TARGET_RATE).toFixed(2)}× of it); ` +
      `heaviest peer ${megabytes(heaviest)} MB (target < ${megabytes(TARGET_RSS)} MB)`)
    if (theirs) {
      console.log(`ours/theirs: ${(rate(ours) / rate(theirs)).toFixed(2)}× the messages per second (target ≥ ${TARGET_RATIO}×), ` +
        `${(cpuRate(ours) / cpuRate(theirs)).toFixed(2)}× per CPU second of the empty peer, ` +
        `${((theirs.source.cpuMs + theirs.sink.cpuMs) / (ours.source.cpuMs + ours.sink.cpuMs)).toFixed(2)}× less CPU for both peers together`)
    }
    // Both peers share this machine's cores, so the ceiling is for the pair.
    const target = Math.max(TARGET_RATE, theirs ? TARGET_RATIO * rate(theirs) : 0)
    const ceiling = await verifyingAlone(FIXTURE)
    console.log()
    console.log(ceilingLine(ceiling, target, ((ours.source.cpuMs + ours.sink.cpuMs) * 1000) / ours.sink.received, 'reading, encrypting and sending on one side, decrypting, storing and indexing on the other'))
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}


/** Loads the fixture into a full peer, starts it, and times an empty peer replicating it all. */
async function pair(kind: 'hearsay' | 'ssb-server', root: string, file: string, authors: string): Promise<PairFigures> {
  const full = path.join(root, `${kind}-full`)
  const empty = path.join(root, `${kind}-empty`)
  const seed = await runChild<Seeded>(`${kind}-seed`, [full, file, authors])
  const source = startChild(`${kind}-source`, [full, authors])
  try {
    const { address } = await source.next<{ address: string }>()
    const sink = await runChild<SinkFigures>(`${kind}-sink`, [empty, authors, address, String(seed.accepted)])
    source.process.stdin!.end() // its cue to report and exit
    const memory = await source.next<MemoryFigures>()
    return { seedMs: seed.ms, sink, source: memory }
  } finally {
    // A profiled child writes its profile as it exits: let it, for a while.
    if (PROFILE_ARGS.length > 0 && source.process.exitCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 15_000)
        source.process.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    source.process.kill()
  }
}

interface Child {
  process: ChildProcess
  /** The next JSON line the child prints. */
  next<T>(): Promise<T>
}

function startChild(kind: string, args: string[]): Child {
  const child = spawn(process.execPath, [...PROFILE_ARGS, '--import', 'tsx', SELF, '--child', kind, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)))
  const lines: Interface = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = []
  let exited: Error | null = null
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return
    const waiter = waiting.shift()
    if (waiter) waiter.resolve(line)
    else queue.push(line)
  })
  child.on('close', (code) => {
    exited = new Error(`${kind} exited with ${code}: ${stderr.trim().split('\n').slice(-8).join('\n')}`)
    for (const waiter of waiting.splice(0)) waiter.reject(exited)
  })
  return {
    process: child,
    next<T>() {
      const line = queue.shift()
      if (line !== undefined) return Promise.resolve(JSON.parse(line) as T)
      if (exited) return Promise.reject(exited)
      return new Promise<string>((resolve, reject) => waiting.push({ resolve, reject })).then((text) => JSON.parse(text) as T)
    },
  }
}

async function runChild<T>(kind: string, args: string[]): Promise<T> {
  const child = startChild(kind, args)
  try {
    return await child.next<T>()
  } finally {
    child.process.stdin!.end()
  }
}

function print(figures: unknown): void {
  process.stdout.write(`\n${JSON.stringify(figures)}\n`)
}

/** Resolves when the parent closes our stdin. */
function parentDone(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('end', () => resolve())
    process.stdin.resume()
  })
}

// ---------------------------------------------------------------------------------------------
// Hearsay children

async function hearsaySeed(dir: string, file: string, authorsFile: string): Promise<Seeded> {
  const { openStore, importMessages } = await import('@hearsay/store')
  const { fixtureMessages } = await import('@hearsay/test-fixtures')
  const store = await openStore({ path: dir, create: true })
  const t0 = performance.now()
  const result = await importMessages(store, file)
  const ms = performance.now() - t0
  await store.close()
  // Whom the empty peers will want: every author of the fixture.
  const authors = new Set<string>()
  for await (const message of fixtureMessages(FIXTURE)) authors.add(message.value.author)
  await writeFile(authorsFile, JSON.stringify([...authors]))
  return { accepted: result.accepted, ms }
}

async function hearsayPeer(dir: string, authorsFile: string, create: boolean) {
  const { openStore } = await import('@hearsay/store')
  const { generateIdentity } = await import('@hearsay/keys')
  const { Peer } = await import('@hearsay/network')
  const feeds = JSON.parse(await readFile(authorsFile, 'utf8')) as FeedId[]
  const identity = generateIdentity()
  // The empty peer is someone's app, which opens its store as its owner (and so tries every
  // private message on its key); the full one serves only, and its identity is new to its store.
  const store = await openStore({ path: dir, create, ...(create ? { identity } : {}) })
  const peer = new Peer({ store, identity, host: '127.0.0.1', port: 0, listen: !create, replicate: { feeds, hops: 0 } })
  await peer.start()
  return { store, peer }
}

async function hearsaySource(dir: string, authorsFile: string): Promise<MemoryFigures> {
  const memory = memorySampler()
  const { store, peer } = await hearsayPeer(dir, authorsFile, false)
  print({ address: peer.address })
  memory.startCpu()
  await parentDone()
  const figures = memory.stop()
  await peer.stop()
  await store.close()
  return figures
}

async function hearsaySink(dir: string, authorsFile: string, address: string, expected: number): Promise<SinkFigures> {
  const memory = memorySampler()
  const { store, peer } = await hearsayPeer(dir, authorsFile, true)
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  store.subscribe(() => {
    if (++received >= expected) done()
  })
  memory.startCpu()
  const t0 = performance.now()
  await peer.connect(address)
  await all
  const ms = performance.now() - t0
  const figures = memory.stop()
  await peer.stop()
  await store.close()
  return { ms, received, ...figures }
}

// ---------------------------------------------------------------------------------------------
// ssb-server children: ssb-db (ssb-server's core), ssb-replicate and ssb-ebt, resolved from
// ssb-server's own dependencies so the versions are its own.

interface Sbot {
  id: string
  add(value: unknown, cb: (err: Error | null) => void): void
  post(listener: (message: unknown) => void): void
  connect(address: string, cb: (err: Error | null) => void): void
  getAddress(scope?: string): string
  replicate: { request(feed: string, replicate: boolean): void }
  close(force: boolean, cb: () => void): void
}

async function openSbot(dir: string): Promise<Sbot> {
  const require = createRequire(import.meta.url)
  const fromServer = createRequire(require.resolve('ssb-server'))
  const { freePort } = await import('@hearsay/network')
  const { MAIN_NETWORK_CAPS } = await import('@hearsay/keys')
  const port = await freePort('127.0.0.1')
  const keys = fromServer('ssb-keys').loadOrCreateSync(path.join(dir, 'secret'))
  const createServer = fromServer('ssb-server').use(fromServer('ssb-replicate')).use(fromServer('ssb-ebt'))
  const sbot = createServer({
    path: dir,
    keys,
    host: '127.0.0.1',
    port,
    caps: { shs: MAIN_NETWORK_CAPS, sign: null },
    timers: { inactivity: -1, handshake: 15_000 },
    connections: {
      incoming: { net: [{ scope: 'device', host: '127.0.0.1', port, transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }] },
    },
    logging: { level: 'error' },
  }) as Sbot & { on(event: string, fn: () => void): void }
  await new Promise<void>((resolve) => sbot.on('multiserver:listening', () => resolve()))
  return sbot
}

async function wantAll(sbot: Sbot, authorsFile: string): Promise<void> {
  for (const feed of JSON.parse(await readFile(authorsFile, 'utf8')) as string[]) sbot.replicate.request(feed, true)
}

async function ssbSeed(dir: string): Promise<Seeded> {
  const { fixtureMessages } = await import('@hearsay/test-fixtures')
  const sbot = await openSbot(dir)
  const t0 = performance.now()
  let accepted = 0
  let window: Array<Promise<void>> = []
  // In file order (each feed in sequence order), 500 at a time in flight.
  for await (const message of fixtureMessages(FIXTURE)) {
    window.push(new Promise<void>((resolve, reject) => sbot.add(message.value, (err) => (err ? reject(err) : (accepted++, resolve())))))
    if (window.length >= 500) {
      await Promise.all(window)
      window = []
    }
  }
  await Promise.all(window)
  const ms = performance.now() - t0
  await new Promise<void>((resolve) => sbot.close(true, () => resolve()))
  return { accepted, ms }
}

async function ssbSource(dir: string, authorsFile: string): Promise<MemoryFigures> {
  const memory = memorySampler()
  const sbot = await openSbot(dir)
  await wantAll(sbot, authorsFile)
  print({ address: sbot.getAddress('device') })
  memory.startCpu()
  await parentDone()
  return memory.stop()
}

async function ssbSink(dir: string, authorsFile: string, address: string, expected: number): Promise<SinkFigures> {
  const memory = memorySampler()
  const sbot = await openSbot(dir)
  await wantAll(sbot, authorsFile)
  let received = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  sbot.post(() => {
    if (++received >= expected) done()
  })
  memory.startCpu()
  const t0 = performance.now()
  await new Promise<void>((resolve, reject) => sbot.connect(address, (err) => (err ? reject(err) : resolve())))
  await all
  const ms = performance.now() - t0
  return { ms, received, ...memory.stop() }
}

async function child(kind: string, args: string[]): Promise<unknown> {
  const [a, b, c, d] = args
  switch (kind) {
    case 'hearsay-seed': return hearsaySeed(a!, b!, c!)
    case 'hearsay-source': return hearsaySource(a!, b!)
    case 'hearsay-sink': return hearsaySink(a!, b!, c!, Number(d))
    case 'ssb-server-seed': return ssbSeed(a!)
    case 'ssb-server-source': return ssbSource(a!, b!)
    case 'ssb-server-sink': return ssbSink(a!, b!, c!, Number(d))
    default: throw new Error(`unknown child ${kind}`)
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv[2] === '--child') {
    const [kind, ...args] = process.argv.slice(3)
    print(await child(kind!, args))
    // ssb-server and EBT leave timers behind; the figures are out.
    process.exit(0)
  } else {
    await run()
  }
}
