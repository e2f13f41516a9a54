// Running the real `hearsay` bin as a user would, for the CLI tests (and the e2e tests, which
// start their peers with startHearsay too): one child process per command, and `hearsay start`
// as a long-running child whose JSON lines are read as they come.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { defer, tempDir as tempDirWithPrefix, type Teardown } from '@hearsay/network/testing/helpers'

export type { Teardown }

export const binPath = fileURLToPath(new URL('../bin/hearsay.js', import.meta.url))

export interface Result {
  code: number
  stdout: string
  stderr: string
}

/** A temp directory removed when the test ends, after the `hearsay start` children in it are gone. */
export function tempDir(t: Teardown, prefix = 'hearsay-pub-'): Promise<string> {
  return tempDirWithPrefix(t, prefix)
}

/** Runs `hearsay ...args` with HEARSAY_DATA=dataDir; never rejects, whatever the exit status. */
export function hearsay(dataDir: string, ...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEARSAY_DATA: dataDir }
  delete env.HEARSAY_DEBUG
  return new Promise((resolve, reject) => {
    // Big enough for `log --json` of a whole fixture feed.
    execFile(process.execPath, [binPath, ...args], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err)
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr })
    })
  })
}

/** A command that must succeed: its stdout, after checking it wrote nothing to stderr. */
export async function ok(dataDir: string, ...args: string[]): Promise<string> {
  const result = await hearsay(dataDir, ...args)
  assert.equal(result.code, 0, `hearsay ${args.join(' ')} failed: ${result.stderr}`)
  assert.equal(result.stderr, '', `hearsay ${args.join(' ')}`)
  return result.stdout
}

/** A command that must fail: exactly one `hearsay: …` line on stderr, no stack, the given status. */
export async function fails(dataDir: string, expectedCode: number, args: string[], message?: RegExp): Promise<string> {
  const result = await hearsay(dataDir, ...args)
  const label = `hearsay ${args.join(' ')}`
  assert.equal(result.code, expectedCode, `${label} exited ${result.code}: ${result.stderr}`)
  assert.match(result.stderr, /^hearsay: [^\n]+\n$/, `${label} printed: ${result.stderr}`)
  assert.equal(result.stdout, '', label)
  if (message) assert.match(result.stderr, message, label)
  return result.stderr
}

export type Line = Record<string, unknown>

export interface RunningHearsay {
  /** The `ready` line (`web` only in web mode). */
  ready: Line & { id: string; address: string; socket: string; web?: string }
  /** Every JSON line printed so far. */
  lines: Line[]
  /** The first line (printed already or still to come) that `match` accepts. */
  lineWhere(match: (line: Line) => boolean): Promise<Line>
  /** SIGTERM, then its exit status (after checking it wrote nothing to stderr but, in web mode, the address line). */
  stop(): Promise<number | null>
  /** SIGKILL: gone without cleaning up, as after a crash. */
  kill(): Promise<void>
}

/** `hearsay start --port 0 ...args` on `dataDir`, once it is ready; killed when the test ends. */
export async function startHearsay(t: Teardown, dataDir: string, ...args: string[]): Promise<RunningHearsay> {
  return startHearsayWrapped(t, [], dataDir, ...args)
}

/** startHearsay run through a `wrapper` command, e.g. `ip netns exec NS`. */
export async function startHearsayWrapped(t: Teardown, wrapper: readonly string[], dataDir: string, ...args: string[]): Promise<RunningHearsay> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEARSAY_DATA: dataDir }
  delete env.HEARSAY_DEBUG
  const command = [...wrapper, process.execPath, binPath, 'start', '--port', '0', ...args]
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  let exitCode: number | null | undefined
  // 'close', not 'exit': by then every line it printed has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve((exitCode = code))))
  // Deferred, so it runs before the removal of a temp dir made earlier, and waits for the exit:
  // a peer still writing its store while the directory is removed could make that fail.
  defer(t, async () => {
    if (exitCode !== undefined) return
    child.kill('SIGKILL')
    await exited
  })
  const lines: Line[] = []
  // stdout is JSON lines only; anything else fails whoever waits, rather than the whole test file.
  let notJson: string | undefined
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Line)
    } catch {
      notJson ??= text
    }
    for (const wake of [...waiters]) wake()
  })
  const lineWhere = (match: (line: Line) => boolean) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match)
        if (found) {
          waiters.delete(check)
          waiters.delete(gone)
          resolve(found)
        }
      }
      const gone = () => {
        if (exitCode === undefined && notJson === undefined) return
        waiters.delete(check)
        waiters.delete(gone)
        reject(new Error(notJson !== undefined ? `hearsay start printed a line that is not JSON: ${notJson}` : `hearsay start exited (${exitCode}) first: ${stderr}`))
      }
      waiters.add(check)
      waiters.add(gone)
      check()
      if (waiters.has(gone)) gone()
    })
  void exited.then(() => {
    for (const wake of [...waiters]) wake()
  })
  const ready = (await lineWhere((line) => line.event === 'ready')) as RunningHearsay['ready']
  return {
    ready,
    lines,
    lineWhere,
    async stop() {
      child.kill('SIGTERM')
      const code = await exited
      assert.equal(stderr, ready.web === undefined ? '' : `Hearsay is open at ${ready.web}\n`, 'hearsay start wrote to stderr')
      assert.equal(notJson, undefined, 'hearsay start printed a line that is not JSON')
      return code
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
  }
}
