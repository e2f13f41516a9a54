// What every fuzz target shares: running one fast-check property as one stress row, with the
// inputs counted inside the property and a failure written as counterexample + seed + path.
import fc from 'fast-check'
import type { StressMode } from '../harness.ts'

/** One target of the fuzz suite: its row, from the suite's mode and this target's own seed. */
export interface FuzzTarget {
  readonly name: string
  /** Inputs per run in quick mode; full mode runs FULL_FACTOR times as many. */
  readonly quickRuns: number
  run(runs: number, seed: number): Promise<FuzzOutcome>
}

/** What a target found: the property's verdict and the figures worth a row's detail. */
export interface FuzzOutcome {
  /** Inputs actually run, shrinking included. */
  tried: number
  failures: string[]
  /** Short figures, e.g. "41 % accepted"; the seed and timing are added by the suite. */
  notes: string[]
}

export const FULL_FACTOR = 20

export function runsFor(target: FuzzTarget, mode: StressMode): number {
  return mode === 'quick' ? target.quickRuns : target.quickRuns * FULL_FACTOR
}

/** Counts inputs and tallies named outcomes ("accepted", "violation"…) as a property runs. */
export class Tally {
  tried = 0
  private readonly counts = new Map<string, number>()

  count(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1)
  }

  get(outcome: string): number {
    return this.counts.get(outcome) ?? 0
  }

  /** "41 % accepted" for each outcome, in the order asked. */
  percentages(...outcomes: string[]): string[] {
    return outcomes.map((outcome) => `${this.tried === 0 ? 0 : Math.round((100 * this.get(outcome)) / this.tried)} % ${outcome}`)
  }
}

const MAX_FAILURE_CHARS = 400

function clip(text: string): string {
  return text.length > MAX_FAILURE_CHARS ? `${text.slice(0, MAX_FAILURE_CHARS)}…` : text
}

/** The one failure line of a failed fast-check run: why, on which input, and how to replay it. */
export function describeFailure(details: fc.RunDetails<unknown>): string {
  const replay = `seed ${details.seed}${details.counterexamplePath ? ` path ${details.counterexamplePath}` : ''}`
  if (details.counterexample === null) return clip(`property gave up after ${details.numRuns} runs (${details.numSkips} skipped) · ${replay}`)
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  return `${clip(error)} · counterexample ${clip(fc.stringify(details.counterexample))} · ${replay}`
}

/** Runs `property` with the target's seed and turns a failure into the row's failure line. */
export async function checkProperty<T>(property: fc.IAsyncProperty<T> | fc.IProperty<T>, runs: number, seed: number): Promise<string[]> {
  const details = await fc.check(property as fc.IAsyncProperty<T>, { numRuns: runs, seed })
  return details.failed ? [describeFailure(details as fc.RunDetails<unknown>)] : []
}

/** A property's verdict on one input: throw this to fail it with a readable line. */
export class Violation extends Error {
  override readonly name = 'Violation'
}

export function violation(message: string): never {
  throw new Violation(message)
}

/** The name and first line of anything thrown, for failure messages. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message.split('\n')[0]}`
  return `non-error thrown: ${String(thrown)}`
}

/** Deterministic bytes from a seed, for keys and identities that must be the same on a replay. */
export function seededBytes(seed: number, length: number, salt = 0): Buffer {
  const rng = fc.sample(fc.uint8Array({ minLength: length, maxLength: length }), { seed: seed * 31 + salt, numRuns: 1 })[0]!
  return Buffer.from(rng)
}

/** Cuts `bytes` at the given fractions of its length (any boundary, empty chunks included). */
export function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = cuts.map((cut) => Math.floor(cut * (bytes.length + 1))).sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let from = 0
  for (const point of points) {
    chunks.push(bytes.subarray(from, point))
    from = point
  }
  chunks.push(bytes.subarray(from))
  return chunks
}
