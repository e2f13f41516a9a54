// The load suite: a Hearsay pub (the real `hearsay start`, in a child process) holding the 10k
// fixture (10,000 messages in 100 feeds) serves all of it to many clients at once while
// half-open handshakes come and go and its owner calls `whoami` every 20 ms; its inbound limits
// turn away what is over them; and a client that stops reading cannot make it buffer the log.
//
// "10k messages each" means every client gets every one of the fixture's 10,000 messages (all
// 100 feeds, each from sequence 1), checked one by one against the fixture.
import { messagesPath } from '@hearsay/test-fixtures'
import { seededRandom, stressSeed, type StressMode, type StressRow } from './harness.ts'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { connectPeer, dropMidHandshake, indexFixture, replicateByHistory, sampleWhoami, stalledReader, type ClientResult, type FixtureIndex } from './load/clients.ts'
import { checkLimits } from './load/limits.ts'
import { startPub, type RunningPub } from './load/pub.ts'

const WHOAMI_INTERVAL_MS = 20
/**
 * How much the pub's RSS may grow for a client that stopped reading, per stream it opened and in
 * all: each open stream holds its objects and one small store batch (reads wait while the socket
 * is backed up; see packages/network/src/backpressure.ts), so what it costs follows the streams
 * opened, not how much of the log they ask for. Measured: about 120 kB of RSS per stream (the
 * V8 heap grows some 17 kB of it; the rest is allocator slack from the burst of store reads).
 */
const SLOW_READER_BOUND_PER_STREAM = 160e3
const SLOW_READER_BOUND_BASE = 16e6

export async function run(mode: StressMode): Promise<StressRow[]> {
  const full = mode === 'full'
  const index = await indexFixture('10k')
  const clients = full ? 100 : 10
  const drops = full ? 200 : 20
  // As an operator would for this many clients from one address (all of them are on 127.0.0.1).
  const room = clients + drops + 50
  const pub = await startPub({
    importFile: messagesPath('10k'),
    expected: index.total,
    startArgs: [
      '--hops', '0', '--replicate', [...index.feeds.keys()].join(','),
      '--max-connections', String(clients + 20), '--max-per-address', String(room), '--max-handshakes', String(room),
    ],
  })
  const rows: StressRow[] = []
  try {
    // On the fresh pub, so its memory has not been grown (and left free for reuse) by the load.
    const slowReader = await slowReaderRow(pub, index, full)
    rows.push(await loadRow(pub, index, clients, drops, full), slowReader)
  } finally {
    await pub.stop()
  }
  rows.push(await checkLimits())
  return rows
}

async function loadRow(pub: RunningPub, index: FixtureIndex, clients: number, drops: number, full: boolean): Promise<StressRow> {
  const target = `load: ${clients} clients × ${(index.total / 1000).toFixed(0)}k msgs, ${drops} dropped handshakes`
  const failures: string[] = []
  const timeoutMs = full ? 240_000 : 60_000
  const random = seededRandom(stressSeed())
  const workers = await startWorkers(pub.address, clients, full ? 4 : 2, timeoutMs)
  try {
    const whoami = await sampleWhoami(pub.socket, pub.id, WHOAMI_INTERVAL_MS)
    const handshakeFailuresBefore = pub.counts.get('handshake-failed') ?? 0
    const started = performance.now()
    // Every client replicates at once; the drops come over the first seconds.
    const replicated = workers.map((worker) => worker.go())
    const dropSpreadMs = full ? 5000 : 1000
    const dropped = Array.from({ length: drops }, (_, i) => new Promise<string | null>((resolve) => {
      setTimeout(() => resolve(dropMidHandshake(pub.port, i % 2 === 0, random)), (i / drops) * dropSpreadMs)
    }))
    const results: ClientResult[] = (await Promise.all(replicated)).flat()
    const seconds = (performance.now() - started) / 1000
    const dropProblems = (await Promise.all(dropped)).filter((problem): problem is string => problem !== null)
    const { latencies, errors: whoamiErrors } = await whoami.stop()
    const peak = await pub.memory('VmHWM')

    for (const worker of workers) failures.push(...worker.connectErrors)
    for (const result of results) failures.push(...result.errors)
    failures.push(...new Set(dropProblems))
    failures.push(...whoamiErrors)
    const received = results.reduce((sum, result) => sum + result.received, 0)
    if (received !== clients * index.total) failures.push(`${clients * index.total - received} of ${clients * index.total} messages never arrived`)
    // Every dropped handshake must have been noticed and cleaned up by the pub.
    const noticed = await Promise.race([
      pub.eventCount('handshake-failed', handshakeFailuresBefore + drops).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
    ])
    if (!noticed) failures.push(`the pub reported ${(pub.counts.get('handshake-failed') ?? 0) - handshakeFailuresBefore} of ${drops} dropped handshakes`)
    if ((pub.counts.get('refused') ?? 0) > 0) failures.push(`the pub refused ${pub.counts.get('refused')} connections within its configured limits`)
    if (latencies.length === 0) failures.push('whoami never answered')

    return {
      target,
      tried: clients,
      unit: 'clients',
      detail: [
        `${Math.round(received / seconds).toLocaleString('en')} msgs/s served (${received.toLocaleString('en')} in ${seconds.toFixed(1)} s)`,
        `whoami p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms (${latencies.length} calls)`,
        `pub peak RSS ${(peak / 1e6).toFixed(0)} MB`,
      ].join(' · '),
      failures,
    }
  } finally {
    for (const worker of workers) worker.kill()
  }
}

async function slowReaderRow(pub: RunningPub, index: FixtureIndex, full: boolean): Promise<StressRow> {
  const copies = full ? 10 : 4
  const stallMs = full ? 6000 : 3000
  const failures: string[] = []
  // One client fetching the log first, so the store's caches are warm in the baseline.
  const warmUp = await replicateByHistory(await connectPeer(pub.address), index, 'warm-up client', 60_000)
  failures.push(...warmUp.errors)
  const baseline = await pub.memory('VmRSS')
  const reader = await stalledReader(pub.address, index, copies)
  let highest = baseline
  const stallEnds = Date.now() + stallMs
  while (Date.now() < stallEnds) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    highest = Math.max(highest, await pub.memory('VmRSS'))
  }
  const grew = highest - baseline
  const bound = SLOW_READER_BOUND_BASE + SLOW_READER_BOUND_PER_STREAM * reader.streams
  const result = await reader.resume(full ? 120_000 : 60_000)
  failures.push(...result.errors)
  if (grew > bound) failures.push(`the pub's RSS grew ${(grew / 1e6).toFixed(1)} MB for a client that read nothing (bound ${(bound / 1e6).toFixed(0)} MB)`)
  if (result.received !== reader.requested) failures.push(`the slow reader got ${result.received} of ${reader.requested} messages once it read again`)
  return {
    target: `load: slow reader asking for ${copies + 1}× the log`,
    tried: reader.requested,
    unit: 'msgs asked',
    detail: [
      `${reader.streams} streams, ${((index.bytes * (copies + 1)) / 1e6).toFixed(0)} MB of JSON asked`,
      `stalled ${(stallMs / 1000).toFixed(0)} s: pub RSS +${(grew / 1e6).toFixed(1)} MB (bound ${(bound / 1e6).toFixed(0)} MB)`,
      `then all ${result.received.toLocaleString('en')} arrived`,
    ].join(' · '),
    failures,
  }
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const WORKER = path.join(REPO, 'stress', 'load', 'client-worker.ts')

interface Worker {
  /** Clients it could not connect, one line each. */
  connectErrors: string[]
  /** Starts its clients replicating; their results once all are done. */
  go(): Promise<ClientResult[]>
  kill(): void
}

/**
 * `clients` load clients over `processes` child processes, each connected (handshaken) before
 * this resolves: the clients' own work then never delays the owner's `whoami` we time.
 */
async function startWorkers(address: string, clients: number, processes: number, timeoutMs: number): Promise<Worker[]> {
  const workers: Worker[] = []
  try {
    let first = 0
    for (let p = 0; p < processes; p++) {
      const count = Math.floor(clients / processes) + (p < clients % processes ? 1 : 0)
      workers.push(await startWorker(address, first, count, timeoutMs))
      first += count
    }
    return workers
  } catch (err) {
    for (const worker of workers) worker.kill()
    throw err
  }
}

function startWorker(address: string, first: number, count: number, timeoutMs: number): Promise<Worker> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER, address, String(first), String(count), String(timeoutMs)], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)))
  const lines: string[] = []
  const waiting: Array<(line: string | null) => void> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    const waiter = waiting.shift()
    if (waiter) waiter(line)
    else lines.push(line)
  })
  child.on('exit', () => {
    for (const waiter of waiting.splice(0)) waiter(null)
  })
  const next = async <T>(): Promise<T> => {
    const line = lines.shift() ?? (child.exitCode === null ? await new Promise<string | null>((resolve) => waiting.push(resolve)) : null)
    if (line === null) throw new Error(`a load client process exited early: ${stderr.trim().split('\n').slice(-5).join(' ')}`)
    return JSON.parse(line) as T
  }
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  return next<{ connected: number; errors: string[] }>().then(
    ({ errors }) => ({
      connectErrors: errors,
      go: async () => {
        child.stdin!.write('go\n')
        return (await next<{ results: ClientResult[] }>()).results
      },
      kill,
    }),
    (err: unknown) => {
      kill()
      throw err
    },
  )
}
