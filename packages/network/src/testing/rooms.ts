import type { FeedId } from '@hearsay/keys'
import { tempDir, type Teardown } from './helpers.ts'
import { runReferenceScript, runReferenceServer } from './reference-process.ts'

export interface ReferenceRoom {
  id: FeedId
  /** Its `net:127.0.0.1:PORT~shs:KEY` address. */
  address: string
}

/** ssb-room@1.3.0's room server in a child process on 127.0.0.1 (see ssb-room.ts), stopped when the test ends. */
export async function startReferenceRoom(t: Teardown): Promise<ReferenceRoom> {
  const dir = await tempDir(t, 'hearsay-ssb-room-')
  return (await runReferenceServer<ReferenceRoom>(t, 'ssb-room', 'ssb-room.ts', (port) => [dir, String(port)])).ready
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
  const attendant = runReferenceScript(t, 'the ssb-room attendant', 'ssb-room-attendant.ts', [dir, roomAddress, ...(dial ? ['dial'] : [])])
  const lineWhere = attendant.jsonLine<Record<string, string>>
  const { id } = await lineWhere((line) => line.id !== undefined)
  return { id: id as FeedId, connectedTo: async (key) => (await lineWhere((line) => line.key === key)).connected! }
}
