import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { FeedId } from '@hearsay/keys'
import { freePort } from '../transport.ts'
import { defer, tempDir, type Teardown } from './helpers.ts'

export interface ReferenceRoom {
  id: FeedId
  /** Its `net:127.0.0.1:PORT~shs:KEY` address. */
  address: string
}

/** ssb-room@1.3.0's room server in a child process on 127.0.0.1 (see ssb-room.ts), stopped when the test ends. */
export async function startReferenceRoom(t: Teardown): Promise<ReferenceRoom> {
  const dir = await tempDir(t, 'hearsay-ssb-room-')
  const port = await freePort('127.0.0.1')
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'ssb-room.ts'), dir, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  defer(t, async () => {
    child.kill('SIGTERM')
    await exited
  })
  const lines = createInterface({ input: child.stdout! })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ssb-room exited (${code}) before listening:\n${stderr}`)))
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as ReferenceRoom)
    })
  })
}

export interface ReferenceAttendant {
  id: FeedId
  /** The first line `{"connected": ADDRESS, "key"}` (printed already or still to come) for `key`. */
  connectedTo(key: FeedId): Promise<string>
}

/**
 * A secret-stack peer with ssb-conn and ssb-room's tunnel client in a child process (see
 * ssb-room-attendant.ts) in the room at `roomAddress`; with `dial` it dials every attendant there.
 */
export async function startReferenceAttendant(t: Teardown, roomAddress: string, { dial = false } = {}): Promise<ReferenceAttendant> {
  const dir = await tempDir(t, 'hearsay-ssb-attendant-')
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'ssb-room-attendant.ts'), dir, roomAddress, ...(dial ? ['dial'] : [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  defer(t, async () => {
    child.kill('SIGTERM')
    await exited
  })
  const lines: Array<Record<string, string>> = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    lines.push(JSON.parse(line) as Record<string, string>)
    for (const wake of [...waiters]) wake()
  })
  const lineWhere = (match: (line: Record<string, string>) => boolean) => new Promise<Record<string, string>>((resolve, reject) => {
    const check = () => {
      const found = lines.find(match)
      if (!found) return
      waiters.delete(check)
      resolve(found)
    }
    child.once('exit', (code) => reject(new Error(`the ssb-room attendant exited (${code}):\n${stderr}`)))
    waiters.add(check)
    check()
  })
  const { id } = await lineWhere((line) => line.id !== undefined)
  return { id: id as FeedId, connectedTo: async (key) => (await lineWhere((line) => line.key === key)).connected! }
}
