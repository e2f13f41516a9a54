// A real `hearsay start` child process on 127.0.0.1 with a temp data dir, as a person runs it.
// Registers its own teardown on the test context.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { FeedId } from '@hearsay/keys'

export const HEARSAY_BIN = fileURLToPath(new URL('../../apps/pub/bin/hearsay.js', import.meta.url))

export interface RunningPeer {
  id: FeedId
  /** net:127.0.0.1:PORT~shs:KEY */
  address: string
  /** The unix socket local clients (the owner's tools) connect on. */
  socket: string
  /** The browser address with the secret, when started with web mode. */
  web: string | undefined
  dataDir: string
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>
  /** Resolves with the first JSON event line `match` accepts. */
  event(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

/** Where teardown is registered: a node:test context, or a bench's own list. */
export interface Teardown {
  after(cleanup: () => unknown): void
}

export async function startPeer(
  t: Teardown,
  options: { web?: boolean; peers?: string[]; replicate?: string[]; dataDir?: string } = {},
): Promise<RunningPeer> {
  // A given data dir belongs to the caller; a temp one is removed with the peer.
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'hearsay-e2e-')))
  const args = [HEARSAY_BIN, 'start', '--port', '0', '--data', dataDir]
  if (options.peers?.length) args.push('--peers', options.peers.join(','))
  if (options.replicate?.length) args.push('--replicate', options.replicate.join(','))
  if (options.web) args.push('--web', '0')
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.after(async () => {
    child.kill('SIGTERM')
    await exited
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      return
    }
    for (const wake of waiters) wake()
  })
  let gone = false
  void exited.then(() => {
    gone = true
    for (const wake of waiters) wake()
  })
  const event = async (match: (line: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = lines.find(match)
      if (found) return found
      if (gone) throw new Error(`hearsay start exited before the expected event; stderr:\n${stderr}`)
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake)
          resolve()
        }
        waiters.add(wake)
      })
    }
  }
  const ready = await event((line) => line.event === 'ready')
  return {
    id: ready.id as FeedId,
    address: String(ready.address),
    socket: String(ready.socket),
    web: typeof ready.web === 'string' ? ready.web : undefined,
    dataDir,
    event,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    },
  }
}
