// The private key stays in the secret file. The CLI and the peer are run as a person would (with
// umask 000, so only the modes they ask for protect anything): init in the default ~/.hearsay,
// in a folder that already exists, and from an ssb-keys secret; publish, start with its event
// lines, a backup asked for through the web bridge, and commands that fail on purpose (one of
// them on a corrupt secret holding real key material). Every line they print and every byte
// they leave in the data directories (LevelDB's LOG included) is scanned for the key, its seed
// and the backup phrase.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateIdentity, formatSecretFile, parseSecretFile, type Identity } from '@hearsay/keys'
import { bridgeClient, openBridgeSocket } from '@hearsay/service/web-client'
import { HEARSAY_BIN } from '../../e2e/helpers/peer.ts'
import type { StressMode, StressRow } from '../harness.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const COMMAND_TIMEOUT_MS = 60_000
const ssbKeys = createRequire(import.meta.url)('ssb-keys') as { createSync(file: string): unknown; loadSync(file: string): { id: string; private: string } }

interface Ran {
  command: string
  code: number | null
  output: string
}

/** Runs `hearsay ARGS` to its end under umask 000, capturing stdout and stderr. */
function hearsay(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, HEARSAY_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ command: `hearsay ${args.join(' ')}`, code, output })
    })
  })
}

/** Every way the key could show up in text or bytes: base64 (whole and in pieces), hex, the raw seed, the phrase. */
function needlesOf(identity: Identity, phrase: string | null): { text: string[]; bytes: Buffer[] } {
  const seed = identity.secretKey.subarray(0, 32)
  const base64 = identity.secretKey.toString('base64')
  const text = [base64, seed.toString('base64'), seed.toString('base64url'), seed.toString('hex'), identity.secretKey.toString('hex')]
  // Any 16 characters of the key's base64 (96 bits) would be a leak too: a truncated or wrapped print.
  for (let at = 0; at + 16 <= base64.length; at += 8) text.push(base64.slice(at, at + 16))
  if (phrase) {
    const words = phrase.split(' ')
    text.push(phrase)
    // Four words in order is far past chance for common words, and the start of a leak.
    for (let at = 0; at + 4 <= words.length; at++) text.push(words.slice(at, at + 4).join(' '))
  }
  return { text, bytes: [seed, identity.secretKey] }
}

export async function checkSecrets(mode: StressMode): Promise<StressRow> {
  const failures: string[] = []
  const home = await fs.mkdtemp(path.join(tmpdir(), 'hearsay-stress-secrets-'))
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home }
  delete env.HEARSAY_DATA
  const runs: Ran[] = []
  const run = async (args: string[], expectSuccess: boolean) => {
    const ran = await hearsay(args, env)
    runs.push(ran)
    if ((ran.code === 0) !== expectSuccess) failures.push(`${ran.command} exited ${ran.code}, expected ${expectSuccess ? 'success' : 'a failure'}: ${ran.output.trim().slice(0, 200)}`)
    return ran
  }
  const identities: Identity[] = []
  const phrases = new Map<Identity, string>()
  const dataDirs: string[] = []
  const checkModes = async (dataDir: string) => {
    dataDirs.push(dataDir)
    const dirMode = (await fs.stat(dataDir)).mode & 0o777
    const secretMode = (await fs.stat(path.join(dataDir, 'secret'))).mode & 0o777
    if ((dirMode & 0o077) !== 0) failures.push(`${dataDir} is mode ${dirMode.toString(8)}: other users can reach the secret's folder`)
    if ((secretMode & 0o077) !== 0 || (secretMode & 0o400) === 0) failures.push(`${dataDir}/secret is mode ${secretMode.toString(8)}, not 0600`)
    const identity = parseSecretFile(await fs.readFile(path.join(dataDir, 'secret'), 'utf8'))
    // The file is ssb-keys' own format: Patchwork and ssb-server read it as it is.
    const read = ssbKeys.loadSync(path.join(dataDir, 'secret'))
    if (read.id !== identity.id || read.private !== `${identity.secretKey.toString('base64')}.ed25519`) failures.push(`${dataDir}/secret does not read back through ssb-keys as the same identity`)
    identities.push(identity)
    return identity
  }

  try {
    // The default data directory, ~/.hearsay.
    const defaultDir = path.join(home, '.hearsay')
    const made = await run(['init'], true)
    const identity = await checkModes(defaultDir)
    if (!made.output.includes(identity.id)) failures.push('hearsay init did not print the new feed id')
    await run(['whoami'], true)
    await run(['publish', '--type', 'post', '--text', 'scanning for secrets'], true)
    await run(['init'], false)
    await run(['init', '--secret', path.join(home, 'no-such-secret')], false)
    await run(['publish', '--json', '{"type": "post", "text": '], false)

    // A folder the person made beforehand (mode 0755 under their umask).
    const existing = path.join(home, 'made-before')
    await fs.mkdir(existing, { mode: 0o755 })
    await fs.chmod(existing, 0o755)
    await run(['init', '--data', existing], true)
    await checkModes(existing)

    // Adopting an ssb-keys secret, and refusing corrupt ones that hold real key material.
    const adopted = path.join(home, '.ssb', 'secret')
    ssbKeys.createSync(adopted)
    await run(['init', '--secret', adopted, '--data', path.join(home, 'nested', 'adopted')], true)
    await checkModes(path.join(home, 'nested', 'adopted'))
    const stranger = generateIdentity()
    identities.push(stranger)
    const mismatched = formatSecretFile(stranger).replace(/"public": "[^"]+"/, `"public": "${generateIdentity().publicKey.toString('base64')}.ed25519"`)
    const corrupt = path.join(home, 'corrupt-secret')
    await fs.writeFile(corrupt, mismatched, { mode: 0o600 })
    await run(['init', '--secret', corrupt, '--data', path.join(home, 'never')], false)
    await fs.writeFile(corrupt, formatSecretFile(stranger).replace(/"curve": "ed25519"/, '"curve": "k256"'), { mode: 0o600 })
    await run(['init', '--secret', corrupt, '--data', path.join(home, 'never')], false)
    await fs.rm(corrupt)

    // The peer, with its event lines, the web bridge and a backup asked for through it.
    const started = await startAndBackup([], env, mode, failures)
    runs.push(started.ran)
    if (started.phrase) phrases.set(identity, started.phrase)
    if (mode === 'full') {
      // A first start makes the identity itself, as the desktop app's peer does.
      const fresh = path.join(home, 'first-start')
      const first = await startAndBackup(['--data', fresh], env, mode, failures)
      runs.push(first.ran)
      const created = await checkModes(fresh)
      if (first.phrase) phrases.set(created, first.phrase)
      await run(['log', '--json'], true)
      await run(['status', '--json'], false) // no peer running now
      await run(['start', '--port', 'not-a-port'], false)
      await run(['start', '--data', path.join(home, 'nested', 'adopted'), '--web', '99999'], false)
    }
  } catch (err) {
    failures.push(`the run stopped early: ${(err as Error).message}`)
  }

  // Scan everything printed, and every file the runs left except the secrets themselves.
  let scanned = 0
  const needles = identities.map((identity) => ({ identity, ...needlesOf(identity, phrases.get(identity) ?? null) }))
  for (const ran of runs) {
    scanned += Buffer.byteLength(ran.output)
    for (const { identity, text } of needles) {
      const leaked = text.find((needle) => ran.output.includes(needle))
      if (leaked) failures.push(`${ran.command} printed key material of ${identity.id} (${leaked.slice(0, 6)}…)`)
    }
  }
  for (const dataDir of dataDirs) {
    for (const file of await filesUnder(dataDir)) {
      if (path.basename(file) === 'secret') continue
      const bytes = await fs.readFile(file)
      scanned += bytes.length
      for (const { identity, text, bytes: raw } of needles) {
        const leaked = text.find((needle) => bytes.includes(needle)) ?? raw.find((needle) => bytes.includes(needle))?.toString('hex')
        if (leaked) failures.push(`${path.relative(home, file)} holds key material of ${identity.id} (${leaked.slice(0, 6)}…)`)
      }
    }
  }
  await fs.rm(home, { recursive: true, force: true })
  return {
    target: 'web: secrets stay in the secret file',
    tried: scanned,
    unit: 'bytes scanned',
    detail: `${runs.length} CLI/peer runs · ${dataDirs.length} data dirs (0700, secret 0600, umask 000) · ${identities.length} keys · backup phrase ${phrases.size > 0 ? 'included' : 'missing'}`,
    failures,
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...(await filesUnder(full)))
    else if (entry.isFile()) found.push(full)
  }
  return found
}

/**
 * `hearsay start --web 0` (on ~/.hearsay unless told otherwise) until ready; the backup and a wrong restore through the
 * client API over its WebSocket; then SIGTERM. Returns everything it printed and the phrase.
 */
async function startAndBackup(extraArgs: readonly string[], env: NodeJS.ProcessEnv, mode: StressMode, failures: string[]): Promise<{ ran: Ran; phrase: string | null }> {
  const args = ['start', '--port', '0', '--web', '0', ...extraArgs]
  const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, HEARSAY_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let phrase: string | null = null
  try {
    const ready = await new Promise<{ web: string }>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout })
      lines.on('line', (line) => {
        output += `${line}\n`
        try {
          const event = JSON.parse(line) as { event?: string; web?: string }
          if (event.event === 'ready' && event.web) resolve({ web: event.web })
        } catch {
          // Not an event line; it is still scanned.
        }
      })
      void exited.then((code) => reject(new Error(`hearsay start exited (${code}) before it was ready: ${output.slice(-300)}`)))
      setTimeout(() => reject(new Error(`hearsay start was not ready within ${COMMAND_TIMEOUT_MS / 1000} s`)), COMMAND_TIMEOUT_MS).unref()
    })
    const web = new URL(ready.web)
    const socket = await openBridgeSocket(`ws://${web.host}/api?secret=${web.searchParams.get('secret')}`, { origin: web.origin })
    if (typeof socket === 'number') throw new Error(`the web bridge refused its own address's WebSocket (${socket})`)
    try {
      const client = bridgeClient(socket)
      phrase = (await client.backup()).phrase
      // A restore that does not check out says what is wrong without echoing what was typed.
      const words = phrase.split(' ')
      const attempts = [[...words.slice(0, 23), words[0] === 'zoo' ? 'abandon' : 'zoo'].join(' '), words.slice(0, 20).join(' '), `${words.slice(0, 23).join(' ')} notaword`]
      for (const attempt of mode === 'full' ? attempts : attempts.slice(0, 1)) {
        try {
          await client.adoptSecret(attempt)
          failures.push('a wrong recovery phrase was adopted')
        } catch (err) {
          output += `adoptSecret answered: ${(err as Error).message}\n`
        }
      }
    } finally {
      socket.terminate()
    }
  } finally {
    child.kill('SIGTERM')
    const code = await exited
    if (code !== 0 && code !== null) output += `(exit ${code})\n`
  }
  return { ran: { command: `hearsay ${args.join(' ')}`, code: 0, output }, phrase }
}
