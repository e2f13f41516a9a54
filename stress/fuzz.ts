// The fuzz suite: property-based fuzzing (fast-check) of everything that reads what others
// wrote — messages, private boxes, muxrpc frames, box-stream ciphertext, addresses, invite
// codes, post markdown and the command line. One row per target; target i runs with seed
// stressSeed() + i, printed in its row, so `STRESS_SEED=… npm run stress -- fuzz` replays it.
import { stressSeed, type StressMode, type StressRow } from './harness.ts'
import { runsFor, type FuzzTarget } from './fuzz/property.ts'
import { messageValidator, storeAppend } from './fuzz/message.ts'
import { box1Decrypt } from './fuzz/box1.ts'
import { muxrpcFrames } from './fuzz/codec.ts'
import { boxStreamDecoding } from './fuzz/box-stream.ts'
import { inviteCodes, multiserverAddresses } from './fuzz/addresses.ts'
import { markdownRendering } from './fuzz/markdown.ts'
import { cliArguments } from './fuzz/cli.ts'

export const targets: readonly FuzzTarget[] = [
  messageValidator, storeAppend, box1Decrypt, muxrpcFrames, boxStreamDecoding, multiserverAddresses, inviteCodes, markdownRendering, cliArguments,
]

export async function run(mode: StressMode): Promise<StressRow[]> {
  const baseSeed = stressSeed()
  // Anything a target lets escape its promises lands here, charged to the target running then.
  const escaped: string[] = []
  const onUnhandled = (kind: string) => (reason: unknown) => {
    escaped.push(`${kind}: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`)
  }
  const onRejection = onUnhandled('unhandled rejection')
  const onException = onUnhandled('uncaught exception')
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  const rows: StressRow[] = []
  try {
    for (const [index, target] of targets.entries()) {
      const seed = baseSeed + index
      const started = performance.now()
      const before = escaped.length
      // A target's own setup failing (a store that will not open) throws: it fails the run loudly.
      const outcome = await target.run(runsFor(target, mode), seed)
      // Let stray callbacks of the last inputs fire before the row is closed.
      await new Promise((resolve) => setImmediate(resolve))
      const unhandled = escaped.slice(before)
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      rows.push({
        target: target.name,
        tried: outcome.tried,
        unit: 'inputs',
        detail: [`seed ${seed}`, ...outcome.notes, `${unhandled.length} unhandled`, `${seconds} s`].join(' · '),
        failures: [...outcome.failures, ...unhandled.map((line) => `${line} · seed ${seed}`)],
      })
    }
  } finally {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  }
  return rows
}
