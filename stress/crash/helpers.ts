// What the crash suite's targets share: running a victim child and killing it on a line it
// prints, running the `hearsay` CLI, seeded kill points, and checking a feed we published.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FeedId, MessageId } from '@hearsay/keys'
import { verifyMessage } from '@hearsay/message'
import { openStore, type Store } from '@hearsay/store'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = path.join(REPO, 'apps', 'pub', 'src', 'main.ts')
export const REPLICATE_CHILD = path.join(REPO, 'stress', 'crash', 'replicate-child.ts')
/** Longest any one child may run before it counts as hung and is killed. */
const CHILD_TIMEOUT_MS = 120_000

export interface ChildEnd {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Killed by us for running longer than CHILD_TIMEOUT_MS. */
  timedOut: boolean
}

export interface Victim {
  process: ChildProcess
  /** Settles once the child has exited and its output is read. */
  ended: Promise<ChildEnd>
  kill(): void
}

/**
 * Starts `node --import tsx FILE ARGS` from the repository root, calling `onLine` with each line
 * of its stdout (the child's progress, to kill it on). `prefix` runs it under another command
 * (e.g. `unshare`).
 */
export function startVictim(file: string, args: readonly string[], onLine: (line: string, victim: Victim) => void = () => {}, prefix: readonly string[] = []): Victim {
  const command = [...prefix, process.execPath, '--import', 'tsx', file, ...args]
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, CHILD_TIMEOUT_MS)
  const victim: Victim = {
    process: child,
    ended: null as unknown as Promise<ChildEnd>,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-8000)))
  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    stdout = (stdout + line + '\n').slice(-200_000)
    onLine(line, victim)
  })
  const closed = new Promise<void>((resolve) => lines.on('close', resolve))
  victim.ended = new Promise<ChildEnd>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      // stdout may still hold lines after exit: read them all before answering.
      void closed.then(() => resolve({ code, signal, stdout, stderr, timedOut }))
    })
  })
  return victim
}

/** Runs the `hearsay` CLI to its end. */
export function runCli(args: readonly string[]): Promise<ChildEnd> {
  return startVictim(CLI, args).ended
}

/** The last lines of a child's stderr, on one line, for a failure report. */
export function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 400)
}

/** `count` distinct integers in [low, high), ascending. */
export function killPoints(random: () => number, count: number, low: number, high: number): number[] {
  const points = new Set<number>()
  while (points.size < Math.min(count, high - low)) points.add(low + Math.floor(random() * (high - low)))
  return [...points].sort((a, b) => a - b)
}

/**
 * Checks `feed` in `store` as its author's own feed: sequences 1…n with no gap, each message
 * naming the one before as `previous`, each signature valid, the feed's state at its last
 * message and not forked. Returns its message ids (index i holding sequence i + 1).
 */
export async function checkOwnFeed(store: Store, feed: FeedId): Promise<MessageId[]> {
  const ids: MessageId[] = []
  for await (const message of store.readFeed(feed)) {
    const { value } = message
    const expectedPrevious = ids.at(-1) ?? null
    if (value.sequence !== ids.length + 1) throw new Error(`${feed} holds sequence ${value.sequence} where ${ids.length + 1} belongs`)
    if (value.previous !== expectedPrevious) throw new Error(`${feed} #${value.sequence} names ${value.previous} as previous, not ${expectedPrevious}: the feed is broken or forked`)
    if (verifyMessage(value).key !== message.key) throw new Error(`${feed} #${value.sequence} is stored under an id that is not its own`)
    ids.push(message.key)
  }
  const status = await store.feedStatus(feed)
  if (status?.forked) throw new Error(`${feed} is marked forked at sequence ${status.forked.sequence}`)
  if ((status?.sequence ?? 0) !== ids.length || (status?.id ?? undefined) !== ids.at(-1)) {
    throw new Error(`${feed}'s state says sequence ${status?.sequence ?? 0}, its messages end at ${ids.length}`)
  }
  return ids
}

/** Acknowledged messages (sequence → id) missing from, or different in, `held`: lost ones. */
export function lostOf(acked: ReadonlyMap<number, MessageId>, held: readonly MessageId[]): string[] {
  const lost: string[] = []
  for (const [sequence, id] of acked) if (held[sequence - 1] !== id) lost.push(`#${sequence} ${id} (holds ${held[sequence - 1] ?? 'nothing'})`)
  return lost
}

/** Runs the replicating child (replicate-child.ts) until it has every message, then stops it cleanly. */
export function replicateToEnd(args: readonly string[]): Promise<ChildEnd> {
  return startVictim(REPLICATE_CHILD, args, (line, child) => {
    if (line.startsWith('done ')) child.process.stdin!.end()
  }).ended
}

/** Opens the store at `storePath`, runs `use`, and closes it whatever happens. */
export async function withStore<T>(storePath: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ path: storePath })
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

/** An error as one line, for a failure report. */
export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').slice(0, 500)
}
