// `hearsay import` driven as a user would, on the shared fixture and on a damaged file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fixtureMessages, messagesPath } from '@hearsay/test-fixtures'
import { hearsay, tempDir } from './test-helpers.ts'

const FIXTURE = messagesPath('10k')

async function firstLines(count: number): Promise<string[]> {
  const lines: string[] = []
  for await (const message of fixtureMessages('10k')) {
    lines.push(JSON.stringify(message))
    if (lines.length === count) break
  }
  return lines
}

test('importing the 10k fixture stores every message; importing again finds them all held', async (t) => {
  const data = path.join(await tempDir(t, 'hearsay-import-'), 'data')
  assert.equal((await hearsay(data, 'init')).code, 0)
  const first = await hearsay(data, 'import', FIXTURE, '--json', '--quiet')
  assert.equal(first.code, 0, first.stderr)
  const result = JSON.parse(first.stdout) as { read: number; accepted: number; duplicates: number; rejectedCount: number; forked: string[] }
  assert.deepEqual({ ...result, rejected: undefined, format: undefined }, { read: 10_000, accepted: 10_000, duplicates: 0, rejectedCount: 0, forked: [], rejected: undefined, format: undefined })

  const [line] = await firstLines(1)
  const { value } = JSON.parse(line!) as { value: { author: string } }
  const log = await hearsay(data, 'log', '--author', value.author, '--json', '--limit', '1')
  assert.equal((JSON.parse(log.stdout) as { value: { author: string } }).value.author, value.author)

  const again = await hearsay(data, 'import', FIXTURE)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /^read 10000 lines: 0 accepted, 10000 already held, 0 rejected, 0 forked feeds$/m)
})

test('a damaged file is imported as far as it is valid, each problem reported with its line', async (t) => {
  const dir = await tempDir(t, 'hearsay-import-')
  const data = path.join(dir, 'data')
  assert.equal((await hearsay(data, 'init')).code, 0)
  const lines = await firstLines(3)
  const tampered = JSON.parse(lines[2]!) as { value: { timestamp: number } }
  tampered.value.timestamp += 1
  const file = path.join(dir, 'export.jsonl')
  await writeFile(file, [lines[0], '{not json', lines[1], JSON.stringify(tampered)].join('\n') + '\n')
  const result = await hearsay(data, 'import', file, '--quiet')
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stdout, /^read 4 lines: 2 accepted, 0 already held, 2 rejected, 0 forked feeds$/m)
  assert.match(result.stdout, /rejected line 2: EIMPORT_JSON/)
  assert.match(result.stdout, /rejected line 4 .*EMSG_SIGNATURE/)
})

test('bad import arguments fail with one line and create nothing', async (t) => {
  const dir = await tempDir(t, 'hearsay-import-')
  const data = path.join(dir, 'data')
  const cases: Array<[string[], number, RegExp]> = [
    [['import'], 2, /needs the FILE/],
    [['import', 'a', 'b'], 2, /unexpected argument "b"/],
    [['import', path.join(dir, 'absent.jsonl')], 1, /no file at/],
    [['import', dir], 1, /is not a file/],
    [['import', FIXTURE], 1, /hearsay init/],
  ]
  for (const [args, code, message] of cases) {
    const result = await hearsay(data, ...args)
    assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, /^hearsay: [^\n]+\n$/)
    assert.match(result.stderr, message)
  }
  assert.deepEqual(await readdir(dir), [], 'no data directory was created')
})
