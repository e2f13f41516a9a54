// The quick subset of `npm run stress`: every suite, small, with no failure allowed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { suites } from './suites.ts'

for (const [name, load] of Object.entries(suites)) {
  test(`stress ${name} (quick): every target tried something and nothing failed`, { timeout: 300_000 }, async () => {
    const rows = await (await load()).run('quick')
    assert.ok(rows.length > 0, `${name} reported no targets`)
    for (const row of rows) {
      assert.ok(row.tried > 0, `${row.target} tried nothing`)
      assert.deepEqual(row.failures, [], `${row.target} failed`)
    }
  })
}
