// Drives the real `hearsay` bin as a user would: a child process per command, with its data
// in a fresh temporary directory.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateIdentity, readSecretFile, type FeedId } from '@hearsay/keys'
import { createUnboxer } from '@hearsay/box1'
import type { Message } from '@hearsay/message'
import { binPath, fails, hearsay, ok, tempDir, type Result } from './test-helpers.ts'

const require = createRequire(import.meta.url)
const ssbKeys = require('ssb-keys') as { createSync(file: string): { id: string } }

/** Every file under `dir` with a hash of its contents; 'absent' when dir does not exist. */
async function snapshot(dir: string): Promise<string> {
  const entries: string[] = []
  async function walk(current: string): Promise<void> {
    for (const entry of (await readdir(current, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(current, entry.name)
      const relative = path.relative(dir, full)
      if (entry.isDirectory()) {
        entries.push(`${relative}/`)
        await walk(full)
      } else {
        entries.push(`${relative} ${createHash('sha256').update(await readFile(full)).digest('hex')}`)
      }
    }
  }
  try {
    await stat(dir)
  } catch {
    return 'absent'
  }
  await walk(dir)
  return entries.join('\n')
}

/** Fails each command line, checking that the data directory is exactly as it was. */
async function failsWithoutTouching(dataDir: string, cases: Array<[number, string[], RegExp?]>): Promise<void> {
  for (const [code, args, message] of cases) {
    const before = await snapshot(dataDir)
    await fails(dataDir, code, args, message)
    assert.equal(await snapshot(dataDir), before, `hearsay ${args.join(' ')} changed ${dataDir}`)
  }
}

async function initialised(t: TestContext): Promise<{ dataDir: string; id: FeedId }> {
  const dataDir = path.join(await tempDir(t), 'data')
  const id = (await ok(dataDir, 'init')).trim() as FeedId
  return { dataDir, id }
}

function parseLines(stdout: string): Message[] {
  assert.ok(stdout.endsWith('\n'))
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Message)
}

// Each test has its own directories, so they run side by side; the commands within one run in order.
describe('hearsay', { concurrency: 2 }, () => {
  test('init creates an identity and a store; whoami prints the id', async (t) => {
    const { dataDir, id } = await initialised(t)
    assert.match(id, /^@[A-Za-z0-9+/]{43}=\.ed25519$/)
    assert.equal((await stat(path.join(dataDir, 'secret'))).mode & 0o777, 0o600)
    assert.equal((await readSecretFile(path.join(dataDir, 'secret'))).id, id)
    assert.ok((await stat(path.join(dataDir, 'db'))).isDirectory())
    assert.equal(await ok(dataDir, 'whoami'), `${id}\n`)
    assert.deepEqual(JSON.parse(await ok(dataDir, 'whoami', '--json')), { id })
  })

  test('--data takes precedence over HEARSAY_DATA', async (t) => {
    const { dataDir, id } = await initialised(t)
    const elsewhere = path.join(await tempDir(t), 'not-here')
    assert.equal(await ok(elsewhere, 'whoami', '--data', dataDir), `${id}\n`)
    await fails(dataDir, 1, ['whoami', '--data', elsewhere], /no data directory/)
  })

  test('publish appends messages that log prints, as text and as JSON', async (t) => {
    const { dataDir, id } = await initialised(t)
    assert.equal(await ok(dataDir, 'log'), '', 'a new feed is empty')

    const first = parseLines(await ok(dataDir, 'publish', '--type', 'post', '--text', 'hello, world'))
    const second = parseLines(await ok(dataDir, 'publish', '--json', '{"type":"post","text":"line one\\nline two","mentions":[]}'))
    const third = parseLines(await ok(dataDir, 'publish', '--type', 'about'))
    assert.equal(first.length, 1)
    const published = [first[0]!, second[0]!, third[0]!]
    assert.deepEqual(published.map((message) => Object.keys(message)), Array(3).fill(['key', 'value', 'timestamp']))
    assert.deepEqual(published.map((message) => message.value.sequence), [1, 2, 3])
    assert.deepEqual(published.map((message) => message.value.author), [id, id, id])
    assert.equal(published[0]!.value.previous, null)
    assert.equal(published[1]!.value.previous, published[0]!.key)
    assert.deepEqual(published[0]!.value.content, { type: 'post', text: 'hello, world' })
    assert.deepEqual(published[1]!.value.content, { type: 'post', text: 'line one\nline two', mentions: [] })
    assert.deepEqual(published[2]!.value.content, { type: 'about' })

    assert.deepEqual(parseLines(await ok(dataDir, 'log', '--json')), published)
    assert.deepEqual(parseLines(await ok(dataDir, 'log', '--json', '--reverse', '--limit', '2')), [published[2], published[1]])
    assert.deepEqual(parseLines(await ok(dataDir, 'log', '--json', '--author', id, '--limit', '1')), [published[0]])

    const lines = (await ok(dataDir, 'log')).trimEnd().split('\n')
    assert.equal(lines.length, 3)
    lines.forEach((line, i) => {
      const message = published[i]!
      const time = new Date(message.value.timestamp).toISOString()
      assert.ok(line.startsWith(`#${i + 1}  ${time}  ${message.key}  `), line)
    })
    assert.match(lines[0]!, / post: hello, world$/)
    assert.match(lines[1]!, / post: line one line two$/, 'text is shown on one line')
    assert.match(lines[2]!, / about$/)

    const other = generateIdentity().id
    assert.equal(await ok(dataDir, 'log', '--author', other), '', "a feed we don't hold is empty")
  })

  test('publish --recps encrypts to the recipients and the author', async (t) => {
    const { dataDir, id } = await initialised(t)
    const alice = generateIdentity()
    const bob = generateIdentity()
    const stranger = generateIdentity()
    const [message] = parseLines(
      await ok(dataDir, 'publish', '--type', 'post', '--text', 'just us', '--recps', `${alice.id}, ${bob.id},${alice.id},${id}`),
    )
    const content = message!.value.content
    assert.equal(typeof content, 'string')
    assert.match(content as string, /\.box$/)
    const expected = { type: 'post', text: 'just us', recps: [id, alice.id, bob.id] }
    assert.deepEqual(createUnboxer(alice).unbox(content as string), expected)
    assert.deepEqual(createUnboxer(bob).unbox(content as string), expected)
    const author = await readSecretFile(path.join(dataDir, 'secret'))
    assert.deepEqual(createUnboxer(author).unbox(content as string), expected)
    assert.equal(createUnboxer(stranger).unbox(content as string), undefined)

    const [stored] = parseLines(await ok(dataDir, 'log', '--json'))
    assert.deepEqual(stored, message, '--json shows the message as stored, still encrypted')
    assert.match(await ok(dataDir, 'log'), /^#1 .* \(private\) post: just us\n$/)

    await failsWithoutTouching(dataDir, [
      [2, ['publish', '--type', 'post', '--recps', Array.from({ length: 7 }, () => generateIdentity().id).join(',')], /at most 7/],
      [2, ['publish', '--json', `{"type":"post","recps":["${alice.id}"]}`], /--recps/],
    ])
  })

  test('init --secret adopts an ssb-keys secret file', async (t) => {
    const dir = await tempDir(t)
    const theirs = ssbKeys.createSync(path.join(dir, 'ssb-secret'))
    const dataDir = path.join(dir, 'data')
    const result = await hearsay(dataDir, 'init', '--secret', path.join(dir, 'ssb-secret'))
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, `${theirs.id}\n`)
    assert.equal(await ok(dataDir, 'whoami'), `${theirs.id}\n`)
    assert.equal((await stat(path.join(dataDir, 'secret'))).mode & 0o777, 0o600)
    const [message] = parseLines(await ok(dataDir, 'publish', '--type', 'post', '--text', 'adopted'))
    assert.equal(message!.value.author, theirs.id)
  })

  test('init refuses to run twice and leaves the secret as it was', async (t) => {
    const { dataDir, id } = await initialised(t)
    const secret = await readFile(path.join(dataDir, 'secret'))
    const other = path.join(await tempDir(t), 'other-secret')
    ssbKeys.createSync(other)
    await failsWithoutTouching(dataDir, [
      [1, ['init'], /already initialised/],
      [1, ['init', '--secret', other], /already initialised/],
    ])
    assert.deepEqual(await readFile(path.join(dataDir, 'secret')), secret)
    assert.equal(await ok(dataDir, 'whoami'), `${id}\n`)
  })

  test('bad arguments are usage errors that touch nothing', async (t) => {
    const { dataDir, id } = await initialised(t)
    await ok(dataDir, 'publish', '--type', 'post', '--text', 'before')
    await failsWithoutTouching(dataDir, [
      [2, [], /no command/],
      [2, ['bogus'], /unknown command "bogus"/],
      [2, ['start', '--port', 'x'], /--port must be a whole number/],
      [2, ['--data', dataDir, 'whoami'], /options go after the command/],
      [2, ['whoami', '--bogus'], /unknown option --bogus/],
      [2, ['whoami', 'extra'], /unexpected argument "extra"/],
      [2, ['whoami', '--json=yes'], /--json takes no value/],
      [2, ['whoami', '--data'], /--data needs a value/],
      [2, ['help', 'bogus'], /unknown command "bogus"/],
      [2, ['init', '--secret'], /--secret needs a value/],
      [2, ['publish'], /nothing to publish/],
      [2, ['publish', '--text', 'no type'], /nothing to publish/],
      [2, ['publish', '--type', 'post', '--json', '{"type":"post"}'], /not both/],
      [2, ['publish', '--json', '{"type":"post"}', '--text', 'hi'], /--text goes with --type/],
      [2, ['publish', '--json', '{"type": "post",'], /--json is not valid JSON/],
      [2, ['publish', '--json', '["post"]'], /JSON object/],
      [2, ['publish', '--type', 'po'], /content type must be 3–52 characters/],
      [2, ['publish', '--json', '{"text":"no type"}'], /content type must be a string/],
      [2, ['publish', '--type', 'post', '--type', 'vote'], /more than once/],
      [2, ['publish', '--type', 'post', '--text', '-dash'], /--text=-dash/],
      [2, ['publish', '--type', 'post', '--text', 'x'.repeat(9000)], /limit is 8192/],
      [2, ['publish', '--type', 'post', '--recps', '@not-a-feed.ed25519'], /--recps: not a feed id/],
      [2, ['publish', '--type', 'post', '--recps', id.replace('=.ed25519', '=.sha256')], /--recps: not a feed id/],
      [2, ['publish', '--type', 'post', '--recps', ' , '], /--recps needs at least one/],
      [2, ['log', '--author', id.slice(0, -1)], /--author: not a feed id/],
      [2, ['log', '--limit', '0'], /--limit must be a positive whole number/],
      [2, ['log', '--limit', '2x'], /--limit must be a positive whole number/],
      [2, ['log', '--reverse', 'yes'], /unexpected argument "yes"/],
      [2, ['follow'], /follow needs the feed ID/],
      [2, ['follow', id.slice(0, -1)], /not a feed id/],
      [2, ['follow', id], /your own feed/],
      [2, ['follow', generateIdentity().id, '--unfollow=no'], /--unfollow takes no value/],
      [2, ['connect'], /connect needs the ADDR/],
      [2, ['connect', 'net:127.0.0.1:1'], /not a net:HOST:PORT~shs:KEY address/],
      [2, ['status', 'now'], /unexpected argument "now"/],
      // Commands that need the running peer say so, and how to start it.
      [1, ['status'], /no peer is running on .* start one with `hearsay start`/],
      [1, ['connect', `net:127.0.0.1:8008~shs:${id.slice(1, -8)}`], /no peer is running on/],
      [2, ['latestSequence', id], /unknown command "latestSequence" .*no peer is running on .* `hearsay start`/],
      // Found by the fuzz suite: minimist threw a TypeError on these, and read --data.x as an object.
      [2, ['latestSequence', '--constructor'], /--constructor is not an option any method takes/],
      [2, ['latestSequence', '--data.x=1'], /--data takes a directory/],
      [2, ['latestSequence', '--limit=1', '--limit.x=2'], /cannot be read together/],
    ])
    assert.equal((await ok(dataDir, 'log')).split('\n').length, 2, 'still exactly one message')
  })

  test('a missing or uninitialised data directory is reported, never created', async (t) => {
    const dir = await tempDir(t)
    const missing = path.join(dir, 'missing')
    const author = generateIdentity().id
    await failsWithoutTouching(missing, [
      [1, ['whoami'], /no data directory at .*missing \(run `hearsay init` first\)/],
      [1, ['log'], /run `hearsay init` first/],
      [1, ['log', '--author', author], /run `hearsay init` first/],
      [1, ['publish', '--type', 'post', '--text', 'hi'], /run `hearsay init` first/],
    ])
    assert.equal(await snapshot(missing), 'absent')

    const empty = path.join(dir, 'empty')
    await mkdir(empty)
    await failsWithoutTouching(empty, [
      [1, ['whoami'], /not initialised.*run `hearsay init` first/],
      [1, ['log'], /not initialised/],
      [1, ['publish', '--type', 'post', '--text', 'hi'], /not initialised/],
    ])
  })

  test('a corrupt secret file is reported with the file name', async (t) => {
    const dir = await tempDir(t)
    const dataDir = path.join(dir, 'data')
    await mkdir(dataDir)
    await writeFile(path.join(dataDir, 'secret'), '{"curve": "ed25519", "private": "trunc')
    const corrupt = new RegExp(`${path.join(dataDir, 'secret').replace(/[/\\.]/g, '\\$&')} is corrupt`)
    await failsWithoutTouching(dataDir, [
      [1, ['whoami'], corrupt],
      [1, ['log'], corrupt],
      [1, ['publish', '--type', 'post', '--text', 'hi'], corrupt],
      [1, ['init'], /already initialised/],
    ])

    const fresh = path.join(dir, 'fresh')
    await failsWithoutTouching(fresh, [
      [1, ['init', '--secret', path.join(dataDir, 'secret')], corrupt],
      [1, ['init', '--secret', path.join(dir, 'no-such-file')], /no secret file at/],
    ])
    assert.equal(await snapshot(fresh), 'absent')
  })

  test('every command explains itself and each of its flags', async (t) => {
    const dataDir = path.join(await tempDir(t), 'unused')
    const flags: Record<string, string[]> = {
      init: ['--secret FILE', '--data DIR'],
      whoami: ['--json', '--data DIR'],
      publish: ['--type TYPE', '--text TEXT', '--json JSON', '--recps IDS', '--data DIR'],
      log: ['--author ID', '--limit N', '--reverse', '--json', '--data DIR'],
      start: ['--host HOST', '--port PORT', '--peers ADDRS', '--replicate IDS', '--hops N', '--caps KEY', '--data DIR'],
      follow: ['--unfollow', '--data DIR'],
      status: ['--json', '--data DIR'],
      connect: ['--kind KIND', '--once', '--json', '--data DIR'],
      help: [],
    }
    const general = await ok(dataDir, '--help')
    assert.equal(await ok(dataDir, '-h'), general)
    assert.equal(await ok(dataDir, 'help'), general)
    for (const [command, expected] of Object.entries(flags)) {
      assert.match(general, new RegExp(`^  ${command} +\\S`, 'm'), `--help lists ${command}`)
      const help = await ok(dataDir, command, '--help')
      assert.match(help, new RegExp(`^Usage: hearsay ${command}`))
      for (const flag of [...expected, '-h, --help']) assert.match(help, new RegExp(`^ +${flag.replace(/[-]/g, '\\-')} +\\S`, 'm'), `${command}: ${flag}`)
      assert.equal(await ok(dataDir, 'help', command), help)
    }
    const publishHelp = await ok(dataDir, 'help', 'publish')
    assert.equal(await ok(dataDir, 'publish', '-h'), publishHelp)
    assert.equal(await ok(dataDir, 'publish', '--bogus', '--help'), publishHelp, 'help wins over a bad flag')
    assert.equal(await snapshot(dataDir), 'absent', 'help touches nothing')
  })

  test('HEARSAY_DEBUG=1 adds the stack trace', async (t) => {
    const dataDir = path.join(await tempDir(t), 'missing')
    const result = await new Promise<Result>((resolve) => {
      execFile(process.execPath, [binPath, 'whoami'], { env: { ...process.env, HEARSAY_DATA: dataDir, HEARSAY_DEBUG: '1' } }, (err, stdout, stderr) =>
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr }),
      )
    })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^hearsay: no data directory at [^\n]+\nCliError: [^\n]+\n +at /)
  })
})
