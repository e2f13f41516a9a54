// Bulk verification on every core: the stateless half of validation (verifyMessage: shape, size,
// signature, id) fanned out over worker threads in chunks. Chain checks (sequence, previous) need
// each feed's latest state and stay with the caller, in order, on its own thread.
import os from 'node:os'
import { Worker } from 'node:worker_threads'
import type { MessageId } from '@hearsay/keys'
import { MessageError } from './errors.ts'
import { hmacKeyBytes, verifyMessage } from './validate.ts'
import type { HmacKey } from './types.ts'

export interface ValidationPoolOptions {
  /** Worker threads to run; default one per core (`os.availableParallelism()`). */
  threads?: number
}

export interface VerifyError {
  /** A MessageErrorCode, or EMSG_NOT_JSON for a value JSON cannot encode (a BigInt, a cycle). */
  code: string
  message: string
}

/** Per message, in input order: its id, or why it is not a valid message. */
export type VerifyOutcome = { key: MessageId } | { error: VerifyError }

export interface ValidationPool {
  readonly threads: number
  /**
   * verifyMessage for every value, on the workers. Invalid messages come back as errors in
   * place; the promise rejects only if the pool cannot answer (a worker died, or close()).
   * Values are copied to the workers (structured clone) as workers become free, so leave them
   * unchanged until the promise settles. Batches are served in the order they were given.
   */
  verifyBatch(values: readonly unknown[], hmacKey?: HmacKey): Promise<VerifyOutcome[]>
  /** Rejects work not yet answered, stops every worker, and resolves once they have exited. */
  close(): Promise<void>
}

// ---- Protocol between the pool and validation-worker.ts ----

export interface ChunkRequest {
  id: number
  values: readonly unknown[]
  /** Canonical base64 (hmacKeyBytes has already vetted it), or null for the main network. */
  hmacKey: string | null
}

/** A message's id, or its error. Ids go as bare strings: they are nearly every answer, and cheap to copy. */
export type ChunkOutcome = MessageId | VerifyError

export interface ChunkReply {
  id: number
  outcomes: ChunkOutcome[]
}

/** verifyMessage, with its failure as a value: what a worker does for each message. */
export function verifyOutcome(value: unknown, hmacKey: HmacKey): ChunkOutcome {
  try {
    return verifyMessage(value, hmacKey).key
  } catch (err) {
    return errorOutcome(err)
  }
}

function errorOutcome(err: unknown): VerifyError {
  if (err instanceof MessageError) return { code: err.code, message: err.message }
  // verifyMessage throws nothing else for JSON data; this is JSON.stringify refusing the value.
  return { code: 'EMSG_NOT_JSON', message: `the message cannot be encoded as JSON: ${err instanceof Error ? err.message : String(err)}` }
}

// ---- The pool ----

// 256 messages are ~13 ms of work for one core: long enough that the per-chunk cost (a message
// each way, ~0.1 ms) vanishes, short enough that the last chunks of a batch spread evenly.
const MAX_CHUNK = 256
// A second chunk waits in each worker's queue, so it never idles for a round trip.
const CHUNKS_IN_FLIGHT = 2

// Node 20 does not apply module hooks given in a Worker's execArgv (`--import tsx`) to the
// worker's own entry point (nodejs/node#47747, privatenumber/tsx#354): a `.ts` entry fails with
// ERR_UNKNOWN_FILE_EXTENSION. So the worker starts from this small script, which registers tsx
// itself and then imports the real worker. It works whether the parent loaded tsx with
// `--import tsx`, through the tsx CLI, or with `register()` from tsx/esm/api (then execArgv is
// empty). The parent's execArgv is inherited as is: a tsx preload it names is harmless there.
// Built on first use, so that merely importing this module never depends on finding tsx.
let bootstrap: string | undefined
function workerBootstrap(): string {
  if (bootstrap === undefined) {
    const tsxApi = import.meta.resolve('tsx/esm/api')
    const worker = new URL('./validation-worker.ts', import.meta.url).href
    bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}) })`
  }
  return bootstrap
}

interface Batch {
  outcomes: VerifyOutcome[]
  chunksLeft: number
  settled: boolean
  resolve(outcomes: VerifyOutcome[]): void
  reject(err: Error): void
}

interface Chunk {
  batch: Batch
  offset: number
  values: readonly unknown[]
  hmacKey: string | null
}

interface Slot {
  worker: Worker
  /** worker.threadId, kept: it reads -1 once the worker has exited. */
  threadId: number
  inFlight: Map<number, Chunk>
  /** Set once the worker has failed or been told to stop; its events are then ignored. */
  gone: boolean
  exited: Promise<void>
}

const workersOfPool = new WeakMap<ValidationPool, () => Worker[]>()

/** The worker threads a pool runs now, for tests and diagnostics (heap snapshots, resource use). */
export function workerThreadsOf(pool: ValidationPool): Worker[] {
  return workersOfPool.get(pool)?.() ?? []
}

export function createValidationPool(options: ValidationPoolOptions = {}): ValidationPool {
  const threads = options.threads ?? os.availableParallelism()
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, not ${threads}`)

  const slots: Slot[] = []
  const queue: Chunk[] = []
  let nextChunkId = 0
  let closed = false
  let closing: Promise<void> | undefined

  function spawn(): Slot {
    const worker = new Worker(workerBootstrap(), { eval: true })
    // Idle workers must not keep the process alive; a worker with work in flight does.
    worker.unref()
    const slot: Slot = { worker, threadId: worker.threadId, inFlight: new Map(), gone: false, exited: new Promise((resolve) => worker.once('exit', () => resolve())) }
    worker.on('message', (reply: ChunkReply) => onReply(slot, reply))
    worker.on('error', (err) => onCrash(slot, `crashed: ${err.message}`))
    worker.on('messageerror', (err) => onCrash(slot, `sent an unreadable reply: ${err.message}`))
    worker.on('exit', (code) => onCrash(slot, `exited with code ${code}`))
    slots.push(slot)
    return slot
  }

  function onReply(slot: Slot, reply: ChunkReply): void {
    const chunk = slot.inFlight.get(reply.id)
    if (!chunk) return
    slot.inFlight.delete(reply.id)
    if (slot.inFlight.size === 0) slot.worker.unref()
    const { batch } = chunk
    if (!batch.settled) {
      const { outcomes } = reply
      for (let i = 0; i < outcomes.length; i++) {
        const outcome = outcomes[i]!
        batch.outcomes[chunk.offset + i] = typeof outcome === 'string' ? { key: outcome } : { error: outcome }
      }
      if (--batch.chunksLeft === 0) {
        batch.settled = true
        batch.resolve(batch.outcomes)
      }
    }
    pump()
  }

  function onCrash(slot: Slot, what: string): void {
    if (slot.gone) return
    slot.gone = true
    slots.splice(slots.indexOf(slot), 1)
    const error = new Error(`validation worker ${slot.threadId} ${what}`)
    for (const chunk of slot.inFlight.values()) fail(chunk.batch, error)
    slot.inFlight.clear()
    void slot.worker.terminate()
    // The batches it was working on have failed; others waiting in the queue get a fresh worker.
    pump()
  }

  function fail(batch: Batch, error: Error): void {
    if (batch.settled) return
    batch.settled = true
    batch.reject(error)
    // Its chunks still queued would be wasted work.
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.batch === batch) queue.splice(i, 1)
  }

  function pump(): void {
    while (queue.length > 0 && !closed) {
      let slot: Slot | undefined
      try {
        slot = readySlot()
      } catch (err) {
        // No worker could be started (tsx not found, threads exhausted): nothing queued can be answered.
        const error = new Error(`cannot start a validation worker: ${(err as Error).message}`, { cause: err })
        for (const chunk of queue.splice(0)) fail(chunk.batch, error)
        return
      }
      if (!slot) return
      send(slot, queue.shift()!)
    }
  }

  /** An idle worker; else a new one, while there are fewer than `threads`; else one with room. */
  function readySlot(): Slot | undefined {
    let least: Slot | undefined
    for (const slot of slots) if (!least || slot.inFlight.size < least.inFlight.size) least = slot
    if (least && least.inFlight.size === 0) return least
    if (slots.length < threads) return spawn()
    return least && least.inFlight.size < CHUNKS_IN_FLIGHT ? least : undefined
  }

  // Values travel by structured clone. Measured on the 100k fixture, that costs this thread
  // ~1.8 µs a message (and both threads together ~2.7 µs), against ~4.5 µs here for
  // JSON.stringify and ~2 µs more for JSON.parse in the worker: JSON text only pays off for a
  // caller that already holds the text, which this API does not take.
  function send(slot: Slot, chunk: Chunk): void {
    const id = nextChunkId++
    const request: ChunkRequest = { id, values: chunk.values, hmacKey: chunk.hmacKey }
    try {
      slot.worker.postMessage(request)
    } catch (_err) {
      // A value structured clone refuses (a function, a Proxy, a symbol) cannot come from the
      // network; verify this chunk here instead, so its answers are exactly verifyMessage's.
      const { batch } = chunk
      chunk.values.forEach((value, i) => {
        const outcome = verifyOutcome(value, chunk.hmacKey)
        batch.outcomes[chunk.offset + i] = typeof outcome === 'string' ? { key: outcome } : { error: outcome }
      })
      if (--batch.chunksLeft === 0 && !batch.settled) {
        batch.settled = true
        batch.resolve(batch.outcomes)
      }
      return
    }
    if (slot.inFlight.size === 0) slot.worker.ref()
    slot.inFlight.set(id, chunk)
  }

  const pool: ValidationPool = {
    threads,

    verifyBatch(values, hmacKey) {
      if (closed) return Promise.reject(new Error('the validation pool is closed'))
      if (values.length === 0) return Promise.resolve([])
      // A malformed key fails every message alike, as verifyMessage would one by one.
      let key: string | null
      try {
        const bytes = hmacKeyBytes(hmacKey)
        key = bytes ? bytes.toString('base64') : null
      } catch (err) {
        const error = errorOutcome(err)
        return Promise.resolve(values.map(() => ({ error })))
      }
      return new Promise<VerifyOutcome[]>((resolve, reject) => {
        // Small batches still use every worker: chunks of at most MAX_CHUNK, at least one per thread.
        const size = Math.min(MAX_CHUNK, Math.ceil(values.length / threads))
        const batch: Batch = { outcomes: new Array(values.length), chunksLeft: Math.ceil(values.length / size), settled: false, resolve, reject }
        for (let offset = 0; offset < values.length; offset += size) {
          queue.push({ batch, offset, values: values.slice(offset, offset + size), hmacKey: key })
        }
        pump()
      })
    },

    close() {
      if (closing) return closing
      closed = true
      const error = new Error('the validation pool was closed before answering')
      for (const slot of slots) for (const chunk of slot.inFlight.values()) fail(chunk.batch, error)
      for (const chunk of queue.splice(0)) fail(chunk.batch, error)
      const exits = slots.map((slot) => {
        slot.gone = true
        void slot.worker.terminate()
        return slot.exited
      })
      slots.length = 0
      closing = Promise.all(exits).then(() => undefined)
      return closing
    },
  }
  workersOfPool.set(pool, () => slots.map((slot) => slot.worker))
  return pool
}
