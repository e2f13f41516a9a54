// Runs every *.test.ts under packages/, apps/, e2e/ and stress/ with node's own test runner.
// Node 20's `--test` does not expand globs, so the files are collected here.
// `npm test -- packages/keys` narrows the run to paths containing any of the arguments.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'

const roots = ['packages', 'apps', 'e2e', 'stress']
const filters = process.argv.slice(2)

function collect(dir: string, found: string[]): string[] {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return found
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) collect(full, found)
    else if (entry.name.endsWith('.test.ts')) found.push(full)
  }
  return found
}

const files = roots
  .flatMap((root) => collect(root, []))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort()

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || 'the test roots'}`)
  process.exit(1)
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
})
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
