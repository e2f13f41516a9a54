// What no import or replication can beat on this machine: checking the fixture's messages
// (verifyMessage: encoding, id, ed25519 signature) and nothing else, on every core at once. The
// import and replicate benches set their targets against it, measured in the same run, to say
// how much of the machine a target leaves for everything else they do.
import os from 'node:os'
import { createValidationPool, type MessageValue } from '@hearsay/message'
import { loadMessages } from './fixtures.ts'
import { formatRate } from './harness.ts'

export interface Ceiling {
  /** Messages checked per second (wall) with every core verifying. */
  rate: number
  threads: number
}

export async function verifyingAlone(fixture: '10k' | '100k'): Promise<Ceiling> {
  const values = (await loadMessages(fixture)).map((m) => m.value as MessageValue)
  const threads = os.availableParallelism()
  const pool = createValidationPool({ threads })
  try {
    // A first small batch starts the workers, so thread start-up is not counted.
    await pool.verifyBatch(values.slice(0, threads * 256))
    const t0 = performance.now()
    const verdicts = await pool.verifyBatch(values)
    const ms = performance.now() - t0
    const refused = verdicts.filter((verdict) => 'error' in verdict).length
    if (refused > 0) throw new Error(`${refused} fixture messages did not verify`)
    return { rate: (values.length / ms) * 1000, threads }
  } finally {
    await pool.close()
  }
}

/**
 * One line: at `target` msgs/s, how many µs of CPU (all cores) a message may take in all, how
 * many checking it alone takes, and what that leaves against what `spentUs` (ours, measured)
 * takes per message.
 */
export function ceilingLine(ceiling: Ceiling, target: number, spentUs: number, what: string): string {
  const cores = os.availableParallelism()
  const budgetUs = (cores * 1e6) / target
  const verifyUs = (cores * 1e6) / ceiling.rate
  const left = budgetUs - verifyUs
  return `ceiling: checking the messages alone, on all ${ceiling.threads} threads and nothing else, reaches ${formatRate(ceiling.rate)} msgs/s here. ` +
    `At the target's ${formatRate(target)} msgs/s the machine has ${budgetUs.toFixed(0)} µs of CPU per message; checking takes ${verifyUs.toFixed(0)} of them, ` +
    (left > 0
      ? `leaving ${left.toFixed(0)} µs for ${what}, which take ${Math.max(0, spentUs - verifyUs).toFixed(0)} µs in ours`
      : `more than all of them: the target is beyond this machine for any peer that checks signatures`)
}
