// The pub under load: the real `hearsay` CLI in a child process of its own, on 127.0.0.1, so its
// memory and CPU are its own and measured from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = path.join(REPO, 'apps', 'pub', 'src', 'main.ts')
/** STRESS_PROFILE=DIR: the pub writes a V8 CPU profile into DIR as it stops (to see where its time went). */
const PROFILE_ARGS = process.env.STRESS_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.STRESS_PROFILE)}`] : []
/** Longest `init` or `import` may take before the run counts as broken. */
const SETUP_TIMEOUT_MS = 120_000

export interface PubEvent {
  event: string
  [field: string]: unknown
}

export interface RunningPub {
  id: string
  /** `net:127.0.0.1:PORT~shs:KEY` */
  address: string
  port: number
  /** The local client socket (owner's muxrpc, no handshake). */
  socket: string
  pid: number
  /** How many of each event the pub has printed so far. */
  readonly counts: ReadonlyMap<string, number>
  /** Every event so far. */
  readonly events: readonly PubEvent[]
  /** Every `refused` event so far. */
  readonly refusals: readonly PubEvent[]
  /** Resolves once the pub has printed `count` events of kind `event` in all. */
  eventCount(event: string, count: number): Promise<void>
  /** Bytes, from /proc/PID/status: `VmRSS` now, or `VmHWM` (the peak so far). */
  memory(field: 'VmRSS' | 'VmHWM'): Promise<number>
  /** SIGTERM, then SIGKILL if it lingers; removes its data directory. Safe to call twice. */
  stop(): Promise<void>
}

function run(args: readonly string[], dataDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--data', dataDir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), SETUP_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`hearsay ${args[0]} exited with ${code ?? signal}: ${stderr.trim()}`))
    })
  })
}

/**
 * A new data directory with a fresh identity, `importFile` imported into it if given (checked
 * to have accepted `expected` messages), then `hearsay start --port 0 --no-lan …startArgs`,
 * resolved once it prints its ready line. Throws (a setup failure) if any step fails.
 */
export async function startPub(options: { importFile?: string; expected?: number; startArgs: readonly string[] }): Promise<RunningPub> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hearsay-stress-load-'))
  let child: ChildProcess | null = null
  let stopped: Promise<void> | null = null
  const stop = () => (stopped ??= (async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    await rm(dataDir, { recursive: true, force: true })
  })())
  try {
    await run(['init'], dataDir)
    if (options.importFile !== undefined) {
      const result = JSON.parse(await run(['import', options.importFile, '--json', '--quiet'], dataDir)) as { accepted: number }
      if (options.expected !== undefined && result.accepted !== options.expected) {
        throw new Error(`the pub imported ${result.accepted} messages of ${options.expected}`)
      }
    }
    const started = spawn(process.execPath, [...PROFILE_ARGS, '--import', 'tsx', CLI, 'start', '--port', '0', '--no-lan', ...options.startArgs, '--data', dataDir], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    let stderr = ''
    started.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)))
    const counts = new Map<string, number>()
    const refusals: PubEvent[] = []
    const events: PubEvent[] = []
    const waiters = new Set<() => void>()
    const ready = new Promise<PubEvent>((resolve, reject) => {
      started.once('exit', (code, signal) => reject(new Error(`the pub exited with ${code ?? signal} before it was ready: ${stderr.trim()}`)))
      createInterface({ input: started.stdout! }).on('line', (line) => {
        if (!line.startsWith('{')) return
        const event = JSON.parse(line) as PubEvent
        counts.set(event.event, (counts.get(event.event) ?? 0) + 1)
        events.push(event)
        if (event.event === 'refused') refusals.push(event)
        if (event.event === 'ready') resolve(event)
        for (const waiter of [...waiters]) waiter()
      })
    })
    const { id, address, socket } = (await ready) as PubEvent & { id: string; address: string; socket: string }
    const pid = started.pid!
    return {
      id,
      address,
      port: Number(/:(\d+)~/.exec(address)![1]),
      socket,
      pid,
      counts,
      events,
      refusals,
      eventCount: (event, count) => new Promise<void>((resolve) => {
        const check = () => {
          if ((counts.get(event) ?? 0) < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
      memory: async (field) => {
        const status = await readFile(`/proc/${pid}/status`, 'utf8')
        const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
        if (!match) throw new Error(`no ${field} in /proc/${pid}/status`)
        return Number(match[1]) * 1024
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
