// The shs1-test harness's protocol for one side of a secret handshake over stdin/stdout, run
// through createShs: the very multiserver shs transform (secret-handshake underneath) that the
// transport uses. See shs1-server.ts and shs1-client.ts.
import type { MultiserverStream } from 'multiserver'
import type { Source } from 'pull-stream'
import type { Identity } from '@hearsay/keys'
import { createShs } from '../transport.ts'

/** How long a handshake may stall (the harness kills stalled processes itself). */
const TIMEOUT = 30_000

/** stdin as a pull source of Buffers. */
function stdinSource(): Source<Buffer> {
  const queue: Buffer[] = []
  let ended = false
  let waiting: ((end: boolean | null, data?: Buffer) => void) | null = null
  const flush = () => {
    if (!waiting) return
    const cb = waiting
    if (queue.length > 0) {
      waiting = null
      cb(null, queue.shift())
    } else if (ended) {
      waiting = null
      cb(true)
    }
  }
  process.stdin.on('data', (chunk: Buffer) => {
    queue.push(chunk)
    flush()
  })
  process.stdin.on('end', () => {
    ended = true
    flush()
  })
  return (abort, cb) => {
    if (abort) {
      ended = true
      cb(abort)
      return
    }
    waiting = cb
    flush()
  }
}

/**
 * Runs one side of the handshake. On failure it exits 1 having written nothing more; on success
 * it writes the outcome (encryption key and nonce, then decryption key and nonce) once the
 * handshake's own bytes (`handshakeBytes` of them) are out, and exits 0.
 */
export function runHandshake(identity: Identity, networkIdentifier: Buffer, handshakeBytes: number, serverKey?: Buffer): void {
  const shs = createShs({ identity, caps: networkIdentifier, handshakeTimeout: TIMEOUT })
  let written = 0
  let finished = false
  let outcome: Buffer | null = null
  const writeOutcome = () => {
    if (!outcome || written < handshakeBytes || finished) return
    finished = true
    process.stdout.write(outcome, () => process.exit(0))
  }
  const raw: MultiserverStream = {
    address: 'stdio',
    source: stdinSource(),
    sink(read) {
      const next = (): void =>
        read(null, (end, data) => {
          if (end || finished) return
          written += data!.length
          process.stdout.write(data!, () => writeOutcome())
          next()
        })
      next()
    },
  }
  const transform = shs.create(serverKey ? { key: serverKey } : undefined)
  transform(raw, (err, stream) => {
    if (err || !stream) {
      finished = true
      process.exit(1)
    }
    const crypto = (stream as unknown as { crypto: { encryptKey: Buffer; encryptNonce: Buffer; decryptKey: Buffer; decryptNonce: Buffer } }).crypto
    outcome = Buffer.concat([crypto.encryptKey, crypto.encryptNonce, crypto.decryptKey, crypto.decryptNonce])
    writeOutcome()
  })
}
