// What every stress suite reports: one row per thing it hammered, with how much it tried and
// what went wrong. `npm run stress` prints the rows as one table; the quick subset in `npm test`
// asserts that no row has a failure.

/** `quick` fits inside `npm test`; `full` is what `npm run stress` runs. */
export type StressMode = 'quick' | 'full'

export interface StressRow {
  /** What was hammered, e.g. "fuzz: message validator" or "crash: SIGKILL during publish". */
  target: string
  /** How many inputs, crash points, clients or payloads were tried. */
  tried: number
  /** What `tried` counts: "inputs", "crash points", "clients", "payloads". */
  unit: string
  /**
   * Figures worth reading beside the count, e.g. "seed 1805 · 0 unhandled" or
   * "52k msgs/s · p99 whoami 4 ms · peak 310 MB".
   */
  detail: string
  /** One line per failure (a crash, a lost message, an escaped payload); empty when all held. */
  failures: string[]
}

export interface StressSuite {
  run(mode: StressMode): Promise<StressRow[]>
}

/**
 * The seed fuzz runs use: `STRESS_SEED` to replay a reported run, else a fixed default so two
 * runs of the suite try the same inputs.
 */
export function stressSeed(): number {
  const raw = process.env.STRESS_SEED
  if (raw === undefined) return 20261122
  const seed = Number(raw)
  if (!Number.isSafeInteger(seed)) throw new Error(`STRESS_SEED must be an integer, not ${JSON.stringify(raw)}`)
  return seed
}

/**
 * A seeded source of numbers in [0, 1) (mulberry32), for the choices a suite makes beside
 * fast-check's (kill points, drop sizes and timings): the same seed, the same run.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Renders rows as one aligned plain-text table, with a total line. */
export function formatTable(rows: readonly StressRow[]): string {
  const header = ['target', 'tried', 'failures', 'detail']
  const cells = rows.map((row) => [row.target, `${row.tried.toLocaleString('en')} ${row.unit}`, String(row.failures.length), row.detail])
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)))
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => (column === 1 || column === 2 ? value.padStart(widths[column]!) : value.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  const failed = rows.reduce((sum, row) => sum + row.failures.length, 0)
  return [
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...cells.map(line),
    '',
    `${rows.length} targets · ${failed} failures`,
  ].join('\n')
}
