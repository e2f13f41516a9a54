// Child process for crash.test.ts: imports a file into a store, printing lines as it goes so the
// parent can SIGKILL it at a known point, and a `done` line with the result:
//   `verified N`  a chunk's signatures are checked: its write is about to start, and the chunk
//                 before it may still be being written
//   `progress …`  a chunk is written (one line per chunk)
//   `stored N`    every 50th message stored
// Usage: node --import tsx import-child.ts <store dir> <file> [chunk size]
import { verifyMessage, MessageError } from '@hearsay/message'
import { openStore } from '../store.ts'
import { importMessages, type BatchVerifier, type Verdict } from '../import.ts'

const [storePath, file, chunkSize] = process.argv.slice(2)
if (!storePath || !file) {
  console.error('usage: import-child.ts <store dir> <file> [chunk size]')
  process.exit(2)
}

let verifiedChunks = 0
const verifier: BatchVerifier = {
  async verifyBatch(values, hmacKey) {
    const verdicts = values.map((value): Verdict => {
      try {
        return { key: verifyMessage(value, hmacKey).key }
      } catch (err) {
        return { error: err instanceof MessageError ? { code: err.code, message: err.message } : { code: 'EMSG_INVALID', message: String(err) } }
      }
    })
    process.stdout.write(`verified ${++verifiedChunks}\n`)
    return verdicts
  },
}

const store = await openStore({ path: storePath, create: true })
store.subscribe((message) => {
  if (message.offset % 50 === 0) process.stdout.write(`stored ${message.offset}\n`)
})
const result = await importMessages(store, file, {
  chunkSize: chunkSize ? Number(chunkSize) : 500,
  progressIntervalMs: 0,
  verifier,
  onProgress: (progress) => process.stdout.write(`progress ${JSON.stringify(progress)}\n`),
})
await store.close()
process.stdout.write(`done ${JSON.stringify(result)}\n`)
