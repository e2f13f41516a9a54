// An import killed outright (SIGKILL: no cleanup, no close) at several points must leave a store
// that opens, holds only whole, valid feed prefixes with indexes that agree with the log, and
// that a second run of the same import completes without storing anything twice.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from './index.ts'
import { tempDir } from './test-helpers.ts'
import { NDJSON_10K, assertConsistent, fixtureFeeds } from './testing/fixtures.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const CHILD = path.join(here, 'testing', 'import-child.ts')
const REPO = path.resolve(here, '..', '..', '..')

/** Kill the child on its `count`-th line of this kind (see testing/import-child.ts). */
interface KillPoint {
  after: 'progress' | 'stored' | 'verified'
  count: number
}

interface ChildRun {
  /** Lines of each kind seen before the child ended or was killed. */
  progress: number
  stored: number
  verified: number
  signal: NodeJS.Signals | null
  code: number | null
  /** The import's result, when it finished. */
  done?: { read: number; accepted: number; duplicates: number; rejectedCount: number }
  stderr: string
}

/** Runs the import in a child; with `kill`, SIGKILLs it on seeing that line. */
function runChild(storePath: string, kill?: KillPoint): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, storePath, NDJSON_10K], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  const run: ChildRun = { progress: 0, stored: 0, verified: 0, signal: null, code: null, stderr: '' }
  child.stderr.setEncoding('utf8').on('data', (text: string) => (run.stderr += text))
  createInterface({ input: child.stdout }).on('line', (line) => {
    const kind = (['progress', 'stored', 'verified'] as const).find((k) => line.startsWith(`${k} `))
    if (kind) {
      run[kind]++
      if (kill?.after === kind && run[kind] === kill.count) child.kill('SIGKILL')
    } else if (line.startsWith('done ')) {
      run.done = JSON.parse(line.slice(5)) as ChildRun['done']
    }
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ ...run, code, signal }))
  })
}

test('an import killed mid-way leaves valid feed prefixes and consistent indexes, and resuming completes it', async (t) => {
  const expected = await fixtureFeeds()
  const storePath = path.join(await tempDir(t), 'store')
  let held = 0
  // Right after a chunk was reported written (1, 3 and 16 reports in), as messages are seen
  // stored, and as a chunk's write begins (maybe while the one before is still being written).
  // Each run resumes the one before, its first chunks (of 500) duplicates, and goes further.
  const kills: KillPoint[] = [
    { after: 'progress', count: 1 }, { after: 'progress', count: 3 }, { after: 'verified', count: 9 },
    { after: 'stored', count: 60 }, { after: 'progress', count: 16 }, { after: 'verified', count: 18 },
  ]
  for (const kill of kills) {
    const run = await runChild(storePath, kill)
    assert.equal(run.signal, 'SIGKILL', `the child was killed after ${kill.count} ${kill.after} lines, not finished (${run.stderr})`)
    assert.equal(run.done, undefined)

    const store = await openStore({ path: storePath })
    try {
      const count = await assertConsistent(store, expected)
      assert.ok(count >= held, 'nothing stored before is lost')
      assert.ok(count < 10_000, `the kill interrupted the import (${count} stored)`)
      held = count
      t.diagnostic(`killed after ${kill.count} ${kill.after} lines: ${count} messages held`)
    } finally {
      await store.close()
    }
  }
  assert.ok(held > 0, 'the killed runs stored something')

  const resumed = await runChild(storePath)
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.deepEqual(resumed.done && { ...resumed.done }, { ...resumed.done, read: 10_000, accepted: 10_000 - held, duplicates: held, rejectedCount: 0 })

  const store = await openStore({ path: storePath })
  t.after(() => store.close())
  assert.equal(await assertConsistent(store, expected), 10_000, 'every message is stored, once')
  for (const [feed, ids] of expected) assert.equal((await store.feedStatus(feed))?.id, ids.at(-1), `${feed} is complete`)
})
