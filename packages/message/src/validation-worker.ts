// A worker thread of validation-pool.ts: verifies each chunk of message values it is sent and
// answers with an id or an error per message. Started only by the pool (see its BOOTSTRAP).
import { parentPort } from 'node:worker_threads'
import { verifyOutcome, type ChunkOutcome, type ChunkReply, type ChunkRequest } from './validation-pool.ts'

if (!parentPort) throw new Error('validation-worker.ts runs as a worker thread of createValidationPool()')
const port = parentPort

port.on('message', (request: ChunkRequest) => {
  // Anything else is a bug in the pool: crash loudly, which fails the batch, rather than guess.
  if (typeof request?.id !== 'number' || !Array.isArray(request.values)) {
    throw new Error(`validation worker: not a chunk request: ${JSON.stringify(request)?.slice(0, 80)}`)
  }
  const { values, hmacKey } = request
  const outcomes: ChunkOutcome[] = new Array(values.length)
  for (let i = 0; i < values.length; i++) outcomes[i] = verifyOutcome(values[i], hmacKey)
  const reply: ChunkReply = { id: request.id, outcomes }
  port.postMessage(reply)
})

// A request that cannot be deserialised would otherwise be dropped silently and its batch hang.
port.on('messageerror', (err) => {
  throw err
})
