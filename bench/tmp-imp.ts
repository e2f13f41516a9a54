import { execFileSync } from 'node:child_process'
import { openStore, importMessages, defaultIndexes } from '@hearsay/store'
import { readSecretFile } from '@hearsay/keys'
import { mainSecretPath } from '@hearsay/test-fixtures'
const identity = await readSecretFile(mainSecretPath('100k'))
const store = await openStore({ path: process.argv[2]!, create: true, indexes: defaultIndexes(), identity })
const t0 = performance.now()
const r = await importMessages(store, '/work/shared/fixtures/msgs-100k.jsonl.gz', { threads: 1 })
const ms = performance.now() - t0
await store.close()
const bytes = Number(execFileSync('du', ['-sk', process.argv[2]!], { encoding: 'utf8' }).split('\t')[0]) * 1024
console.log(r.accepted, (r.accepted / ms * 1000).toFixed(0), 'msgs/s', (bytes / r.accepted).toFixed(0), 'B/msg')
