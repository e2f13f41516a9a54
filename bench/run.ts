// `npm run bench` runs every bench module in turn; `npm run bench -- validate` runs only the named ones.
// Benchmarks print figures and ratios for people to read; they never assert timings.
import os from 'node:os'

interface BenchModule {
  /** Measures and prints its own figures. */
  run(): Promise<void>
}

// Later benches add a line here. Each is imported only when it runs, so one bench's setup
// (fixtures, workers) never slows another.
const modules: Record<string, () => Promise<BenchModule>> = {
  validate: () => import('./validate.ts'),
  import: () => import('./import.ts'),
  renderer: () => import('./renderer.ts'),
  replicate: () => import('./replicate.ts'),
}

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'))
const unknown = wanted.filter((name) => !(name in modules))
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}; available: ${Object.keys(modules).join(', ')}`)
  process.exit(2)
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(`node ${process.version} · ${os.availableParallelism()} × ${cpu} · ${os.platform()}-${os.arch()}`)
for (const name of wanted.length > 0 ? wanted : Object.keys(modules)) {
  console.log(`\n## ${name}\n`)
  const bench = await modules[name]!()
  await bench.run()
}
