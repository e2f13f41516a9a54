// Small timing helpers shared by the bench modules.
import { readFileSync } from 'node:fs'

export interface Measurement {
  label: string
  /** Items processed while timed. */
  items: number
  /** Wall time spent on them, in nanoseconds. */
  ns: number
  /**
   * CPU time of the whole process (every thread) meanwhile, in nanoseconds. On a shared
   * machine this is the steadier figure: time other processes take is not counted.
   */
  cpuNs: number
}

/** Items per second of wall time. */
export function rate(m: Measurement): number {
  return (m.items / m.ns) * 1e9
}

/** Items per second of CPU time (across all the process's threads). */
export function cpuRate(m: Measurement): number {
  return (m.items / m.cpuNs) * 1e9
}

/**
 * CPU time of the calling thread alone, in nanoseconds, where the OS tells it (Linux); else
 * undefined. Node 20 has no per-thread figure of its own.
 */
export function threadCpuNs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0])
  } catch {
    return undefined
  }
}

function cpuNow(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

/**
 * One of several ways of processing the same list of items, raced block by block. `begin`
 * starts a fresh pass (new chain state), `block` processes items [start, end) of it.
 */
export interface Contender {
  label: string
  begin(): void
  block(start: number, end: number): void
}

export interface RaceOptions {
  /** Items per block; each contender does a block in turn, so all see the same machine. */
  blockSize?: number
  /** Items processed untimed first by each contender, so the JIT has compiled its hot path. */
  warmup?: number
  /** Full passes are repeated until every contender has been timed at least this long. */
  minMs?: number
}

/**
 * Times several contenders over the same `count` items, interleaved in small blocks (and in
 * rotating order) rather than one after another: on a shared or throttling machine, slow
 * stretches then hit every contender alike, and the ratios between them stay honest.
 */
export function race(contenders: Contender[], count: number, { blockSize = 500, warmup = 5000, minMs = 2000 }: RaceOptions = {}): Measurement[] {
  for (const c of contenders) {
    c.begin()
    c.block(0, Math.min(warmup, count))
  }
  const ns = contenders.map(() => 0)
  const cpuNs = contenders.map(() => 0)
  const items = contenders.map(() => 0)
  let turn = 0
  do {
    for (const c of contenders) c.begin()
    for (let start = 0; start < count; start += blockSize) {
      const end = Math.min(start + blockSize, count)
      turn++
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + turn) % contenders.length
        const cpu0 = cpuNow()
        const t0 = process.hrtime.bigint()
        contenders[i]!.block(start, end)
        ns[i]! += Number(process.hrtime.bigint() - t0)
        cpuNs[i]! += cpuNow() - cpu0
        items[i]! += end - start
      }
    }
  } while (ns.some((t) => t < minMs * 1e6))
  return contenders.map((c, i) => ({ label: c.label, items: items[i]!, ns: ns[i]!, cpuNs: cpuNs[i]! }))
}

/** Times an async job over `items` items, once. */
export async function measureOnce(label: string, items: number, job: () => Promise<unknown>): Promise<Measurement> {
  const cpu0 = cpuNow()
  const t0 = process.hrtime.bigint()
  await job()
  return { label, items, ns: Number(process.hrtime.bigint() - t0), cpuNs: cpuNow() - cpu0 }
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US')
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`
}

/** Bytes as whole megabytes, for the memory columns. */
export function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(0)
}

/** The middle value (the upper one of an even count), or NaN for none. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

export interface MemoryFigures {
  /** Highest RSS sampled every 20 ms, and the kernel's high-water mark for the process. */
  peakRss: number
  maxRss: number
  /** CPU time of the whole process (all threads) since `startCpu`, or since the sampler began. */
  cpuMs: number
}

/** Samples this process's memory from now until `stop`, and the CPU time it spends meanwhile. */
export function memorySampler() {
  let cpu = process.cpuUsage()
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20)
  timer.unref()
  return {
    /** Counts CPU time from now on. */
    startCpu() {
      cpu = process.cpuUsage()
    },
    stop(): MemoryFigures {
      clearInterval(timer)
      const used = process.cpuUsage(cpu)
      peak = Math.max(peak, process.memoryUsage.rss())
      return { peakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024, cpuMs: (used.user + used.system) / 1000 }
    },
  }
}
