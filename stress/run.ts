// `npm run stress` runs every stress suite in full and prints one table; `npm run stress -- fuzz`
// runs only the named suites, `--quick` runs the subset `npm test` runs. Exits non-zero on any
// failure.
import os from 'node:os'
import { formatTable, stressSeed, type StressMode, type StressRow, type StressSuite } from './harness.ts'
import { suites } from './suites.ts'

const args = process.argv.slice(2)
const mode: StressMode = args.includes('--quick') ? 'quick' : 'full'
const wanted = args.filter((arg) => !arg.startsWith('-'))
const unknown = wanted.filter((name) => !(name in suites))
if (unknown.length > 0) {
  console.error(`unknown stress suite ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`)
  process.exit(2)
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(`node ${process.version} · ${os.availableParallelism()} × ${cpu} · ${mode} run · seed ${stressSeed()}`)
const started = Date.now()
const rows: StressRow[] = []
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  const suiteStarted = Date.now()
  console.log(`running ${name}…`)
  const suite: StressSuite = await suites[name]!()
  rows.push(...(await suite.run(mode)))
  console.log(`  ${name} took ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`)
}
console.log(`\n${formatTable(rows)} · ${((Date.now() - started) / 1000).toFixed(0)} s`)
const failures = rows.flatMap((row) => row.failures.map((failure) => `${row.target}: ${failure}`))
for (const failure of failures) console.error(`FAILED ${failure}`)
process.exit(failures.length > 0 ? 1 : 0)
