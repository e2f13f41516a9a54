// Validation throughput over a realistic chain: the 100k-message fixture (1,000 feeds, interleaved
// as a database received them). Every figure is measured in this run, on the same messages, and
// printed beside the raw ed25519 verify rate, the floor any validator has to pay.
import { createRequire } from 'node:module'
import os from 'node:os'
import sodium from 'sodium-native'
import { checkSuccessor, validateMessage, verifyMessage, type FeedState, type MessageValue } from '@hearsay/message'
import { feedPublicKey } from '@hearsay/keys'
import { messageIdOfLatin1 } from '../packages/message/src/encoding.ts'
import { decodeSignatureInto } from '../packages/message/src/validate.ts'
import { createValidationPool } from '../packages/message/src/validation-pool.ts'
import { loadMessages } from './fixtures.ts'
import { cpuRate, formatRate, measureOnce, percent, race, rate, table, threadCpuNs, type Contender, type Measurement } from './harness.ts'

const require = createRequire(import.meta.url)

interface SsbValidateState { queue: unknown[]; feeds: Record<string, unknown> }
interface SsbValidate {
  initial(): SsbValidateState
  append(state: SsbValidateState, hmacKey: string | null, msg: unknown): SsbValidateState
}

/** BENCH_FIXTURE=10k gives a quick run on the small fixture. */
const FIXTURE = process.env.BENCH_FIXTURE === '10k' ? '10k' : '100k'
const POOL_THREADS = 2
/** Messages the overhead breakdown runs over (it races seven variants). */
const BREAKDOWN_COUNT = 20_000

export async function run(): Promise<void> {
  const loadStart = performance.now()
  const values = (await loadMessages(FIXTURE)).map((m) => m.value as MessageValue)
  const count = values.length
  console.log(`loaded ${count.toLocaleString('en-US')} messages (msgs-${FIXTURE}) in ${((performance.now() - loadStart) / 1000).toFixed(1)} s, not timed`)
  console.log(`load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')} (other processes share these cores: CPU-time figures are the steadier ones)\n`)

  // (a) Raw verify: exactly the bytes, signatures and keys the validators end up verifying,
  // prepared up front so the timed loop is nothing but the libsodium call.
  const signed: Buffer[] = []
  const signatures: Buffer[] = []
  const publicKeys: Buffer[] = []
  for (const value of values) {
    const { signature, ...unsigned } = value
    signed.push(Buffer.from(JSON.stringify(unsigned, null, 2), 'utf8'))
    signatures.push(Buffer.from(signature.slice(0, 88), 'base64'))
    publicKeys.push(Buffer.from(value.author.slice(1, 45), 'base64'))
  }
  const raw: Contender = {
    label: 'raw crypto_sign_verify_detached',
    begin() {},
    block(start, end) {
      for (let i = start; i < end; i++) {
        if (!sodium.crypto_sign_verify_detached(signatures[i]!, signed[i]!, publicKeys[i]!)) throw new Error(`message ${i} does not verify`)
      }
    },
  }

  // (b) Ours, single thread: the whole chain, state threaded per feed.
  let feeds = new Map<string, FeedState>()
  const ours: Contender = {
    label: 'validateMessage, 1 thread',
    begin() {
      feeds = new Map()
    },
    block(start, end) {
      validateChain(values, start, end, feeds)
    },
  }

  // (c) ssb-validate as ssb-db uses it: one state for every feed (a map by author), one append
  // per message. Its queue keeps each validated message until the caller drains it (ssb-db
  // writes them out); left alone it would hold all 100k, so the pass drains it as a database would.
  const ssbValidate = require('ssb-validate') as SsbValidate
  let state = ssbValidate.initial()
  const theirs: Contender = {
    label: 'ssb-validate append',
    begin() {
      state = ssbValidate.initial()
    },
    block(start, end) {
      for (let i = start; i < end; i++) state = ssbValidate.append(state, null, values[i])
      state.queue.length = 0
    },
  }

  // Two races, each against raw verify: the garbage one validator makes is collected (partly on
  // other threads) while the next block runs, so racing ours against ssb-validate directly would
  // bill us for some of its collections.
  console.log(`ours and raw verify, interleaved in blocks of 500 messages over the same ${count.toLocaleString('en-US')}…`)
  const [rawMeasure, oursMeasure] = race([raw, ours], count) as [Measurement, Measurement]
  console.log('ssb-validate and raw verify, likewise…')
  const [rawAgain, theirsMeasure] = race([raw, theirs], count) as [Measurement, Measurement]

  // (d) The worker pool: verifyBatch over everything, then the chain checks on this thread.
  console.log(`the pool (${POOL_THREADS} workers) over the same messages…`)
  const pool = createValidationPool({ threads: POOL_THREADS })
  await pool.verifyBatch(values.slice(0, 4000)) // starts the workers and warms them up
  let poolThreadNs: number | undefined
  let chainThreadNs: number | undefined
  const pooled = await measureOnce(`worker pool, ${POOL_THREADS} threads + chain checks here`, count, async () => {
    const t0 = threadCpuNs()
    const outcomes = await pool.verifyBatch(values)
    const t1 = threadCpuNs()
    const chain = new Map<string, FeedState>()
    for (let i = 0; i < count; i++) {
      const outcome = outcomes[i]!
      const value = values[i]!
      if ('error' in outcome) throw new Error(`message ${i}: ${outcome.error.message}`)
      checkSuccessor(chain.get(value.author) ?? null, value)
      chain.set(value.author, { id: outcome.key, sequence: value.sequence, timestamp: value.timestamp })
    }
    const t2 = threadCpuNs()
    if (t0 !== undefined && t1 !== undefined && t2 !== undefined) {
      poolThreadNs = t1 - t0
      chainThreadNs = t2 - t1
    }
  })
  await pool.close()

  // Each ratio is to the raw verify timed alongside it (the pool's to the first race's).
  const row = (m: Measurement, base: Measurement) => [m.label, formatRate(rate(m)), percent(rate(m) / rate(base)), formatRate(cpuRate(m)), percent(cpuRate(m) / cpuRate(base))]
  const rows = [row(rawMeasure, rawMeasure), row(oursMeasure, rawMeasure), row(theirsMeasure, rawAgain), row(pooled, rawMeasure)]
  console.log()
  console.log(table(['', 'msgs/s (wall)', '% of raw (wall)', 'msgs/s per CPU-second', '% of raw (CPU)'], rows))
  console.log()
  console.log(`- raw verify measured again beside ssb-validate: ${formatRate(rate(rawAgain))} msgs/s wall, ${formatRate(cpuRate(rawAgain))} per CPU-second.`)
  console.log(`- ssb-validate verifies through chloride → ${chlorideBackend()}.`)
  console.log(`- pool: ${(pooled.cpuNs / pooled.ns).toFixed(2)} cores busy on average (of ${os.availableParallelism()}; others' processes take the rest), so`)
  console.log(`  its wall rate is about that many times its per-CPU-second rate, which counts every thread (the price`)
  console.log(`  of spreading the work).`)
  if (poolThreadNs !== undefined && chainThreadNs !== undefined) {
    const feedUs = poolThreadNs / count / 1000
    const workerUs = 1e6 / cpuRate(oursMeasure)
    console.log(`- this thread spent ${feedUs.toFixed(2)} µs a message feeding the pool (structured clone out, answers in) and`)
    console.log(`  ${(chainThreadNs / count / 1000).toFixed(2)} µs on the chain checks: at ~${workerUs.toFixed(0)} µs a message per worker, one thread can keep`)
    console.log(`  ~${Math.floor(workerUs / (feedUs + chainThreadNs / count / 1000))} workers busy.`)
  }

  breakdown(values.slice(0, Math.min(BREAKDOWN_COUNT, count)), signed, signatures, publicKeys)
}

/**
 * Where validateMessage's time goes beyond the raw verify: the same pipeline built up one step at
 * a time, each step raced against the others (interleaved with real verifies, as in validation:
 * a step timed in a tight loop of its own looks several times cheaper than it is here).
 */
function breakdown(values: MessageValue[], signed: Buffer[], signatures: Buffer[], publicKeys: Buffer[]): void {
  const scratch = Buffer.allocUnsafeSlow(8192 * 3)
  const signature = Buffer.allocUnsafeSlow(64)
  const authorKeys = new Map<string, Buffer>()
  const TAIL = ',\n  "signature": "'.length + 100 + '"\n}'.length

  // Steps: 0 raw; 1 + encode (JSON.stringify, UTF-8 into scratch); 2 + id (SHA-256, base64);
  // 3 + signature decoded from its text; 4 + author key looked up from its text.
  const step = (level: number) => (start: number, end: number) => {
    for (let i = start; i < end; i++) {
      const value = values[i]!
      if (level === 0) {
        sodium.crypto_sign_verify_detached(signatures[i]!, signed[i]!, publicKeys[i]!)
        continue
      }
      let key = publicKeys[i]!
      if (level >= 4) {
        key = authorKeys.get(value.author) ?? feedPublicKey(value.author)
        authorKeys.set(value.author, key)
      }
      let sig: Buffer = signatures[i]!
      if (level >= 3) {
        decodeSignatureInto(value.signature, signature)
        sig = signature
      }
      const encoded = JSON.stringify(value, null, 2)
      const bytes = scratch.write(encoded, 0, 'utf8')
      if (level >= 2) messageIdOfLatin1(scratch.subarray(0, bytes))
      scratch[bytes - TAIL] = 0x0a
      scratch[bytes - TAIL + 1] = 0x7d
      sodium.crypto_sign_verify_detached(sig, scratch.subarray(0, bytes - TAIL + 2), key)
    }
  }
  let feeds = new Map<string, FeedState>()
  const steps: Contender[] = [
    { label: 'raw verify', begin() {}, block: step(0) },
    { label: '+ JSON.stringify(value, null, 2) and its UTF-8 bytes', begin() {}, block: step(1) },
    { label: '+ id: SHA-256 of the encoding, base64', begin() {}, block: step(2) },
    { label: '+ signature decoded from its text', begin() {}, block: step(3) },
    { label: '+ author key from its text (cached per author)', begin() {}, block: step(4) },
    {
      label: '= verifyMessage (+ key order, previous, content, other fields)',
      begin() {},
      block(start, end) {
        for (let i = start; i < end; i++) verifyMessage(values[i])
      },
    },
    {
      label: '= validateMessage + per-feed state (the 1-thread figure)',
      begin() {
        feeds = new Map()
      },
      block(start, end) {
        validateChain(values, start, end, feeds)
      },
    },
  ]
  console.log(`\nwhere the time goes (first ${values.length.toLocaleString('en-US')} messages, steps interleaved, CPU time):\n`)
  const results = race(steps, values.length, { minMs: 1000 })
  const micros = results.map((m) => m.cpuNs / m.items / 1000)
  const rows = results.map((m, i) => [
    m.label,
    micros[i]!.toFixed(2),
    i === 0 ? '' : `${micros[i]! - micros[i - 1]! >= 0 ? '+' : ''}${(micros[i]! - micros[i - 1]!).toFixed(2)}`,
    percent(micros[0]! / micros[i]!),
  ])
  console.log(table(['step', 'µs/msg', 'step cost', 'raw share'], rows))
}

/** Which implementation chloride picked: sodium-native bindings, or its JS fallback. */
function chlorideBackend(): string {
  require('chloride')
  const loaded = Object.keys(require.cache)
  if (loaded.some((file) => /sodium-browserify|tweetnacl|libsodium-wrappers/.test(file))) return 'its JS fallback (libsodium-wrappers/tweetnacl)'
  const native = loaded.find((file) => /chloride[\\/]node_modules[\\/]sodium-native[\\/]index\.js$/.test(file)) ??
    loaded.find((file) => /[\\/]sodium-native[\\/]index\.js$/.test(file))
  if (!native) return 'an unknown backend'
  const pkg = require(native.replace(/index\.js$/, 'package.json')) as { version: string }
  return `sodium-native ${pkg.version} (native libsodium, not the JS fallback)`
}

/** What a store does per message: validate each against its feed's state, then advance the state. */
function validateChain(values: readonly MessageValue[], start: number, end: number, feeds: Map<string, FeedState>): void {
  for (let i = start; i < end; i++) {
    const value = values[i]!
    const { key } = validateMessage(feeds.get(value.author) ?? null, value)
    feeds.set(value.author, { id: key, sequence: value.sequence, timestamp: value.timestamp })
  }
}
