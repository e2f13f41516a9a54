import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ImportProgress, ImportResult } from '@hearsay/store'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { CliError, usageError } from '../errors.ts'

/** How many rejection reasons the human summary lists; --json has them all (up to the cap). */
const LISTED_REJECTIONS = 10
/** When stderr is not a terminal, progress lines come at most this often. */
const PLAIN_PROGRESS_INTERVAL_MS = 2000

export const importCommand = defineCommand({
  name: 'import',
  summary: 'bring in messages from an existing SSB install or an export',
  usage: 'import FILE [--json] [--quiet] [--data DIR]',
  maxPositionals: 1,
  description: `
Reads every message in FILE and adds the valid ones to your store, so an existing
Scuttlebutt user's data comes along without replicating it again. FILE is either
newline-delimited JSON ({"key", "value", "timestamp"} or bare values per line), or
the flume/log.offset file ssb-server and Patchwork keep (~/.ssb/flume/log.offset);
either may be gzipped. Every message is validated; invalid ones are reported with
their position and skipped, and a feed whose author signed two different messages
at one sequence is reported as forked. Importing again is safe: messages already
held count as duplicates, so an interrupted import simply resumes.

Progress goes to stderr; the summary to stdout.`,
  options: {
    json: { type: 'boolean', description: 'print the result as JSON (counts, rejections, forked feeds)' },
    quiet: { type: 'boolean', description: 'no progress on stderr' },
    ...DATA_OPTION,
  },
  examples: ['hearsay import ~/.ssb/flume/log.offset', 'hearsay import export.jsonl.gz --json'],
  async run({ values, positionals }, { env, stdout, stderr }) {
    const [file] = positionals
    if (file === undefined) throw usageError('import needs the FILE to read (see `hearsay import --help`)')
    const source = path.resolve(file)
    const stats = await fs.stat(source).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(err.code === 'ENOENT' ? `no file at ${source}` : `cannot read ${source}: ${err.message}`)
    })
    if (!stats.isFile()) throw new CliError(`${source} is not a file`)
    const dataDir = resolveDataDir(values.data, env)
    const identity = await loadIdentity(dataDir)

    const progress = values.quiet ? undefined : progressReporter(stderr)
    const result = await withStore(dataDir, identity, async (store) => {
      const { importMessages } = await import('@hearsay/store')
      return importMessages(store, source, progress ? { onProgress: progress.report } : {})
    })
    progress?.finish()
    if (values.json) await writeLine(stdout, JSON.stringify(result))
    else for (const line of summary(result)) await writeLine(stdout, line)
  },
})

function progressReporter(stderr: NodeJS.WritableStream) {
  const interactive = (stderr as { isTTY?: boolean }).isTTY === true
  let lastPlain = 0
  let shown = false
  const line = (p: ImportProgress) => {
    const percent = p.totalBytes > 0 ? ` (${Math.floor((100 * p.bytesRead) / p.totalBytes)}%)` : ''
    return `importing: ${p.read} read${percent}, ${p.accepted} accepted, ${p.duplicates} duplicates, ${p.rejected} rejected`
  }
  return {
    report(p: ImportProgress) {
      if (interactive) {
        stderr.write(`\r\x1b[K${line(p)}`)
        shown = true
      } else if (Date.now() - lastPlain >= PLAIN_PROGRESS_INTERVAL_MS) {
        lastPlain = Date.now()
        stderr.write(`${line(p)}\n`)
      }
    },
    finish() {
      if (shown) stderr.write('\n')
    },
  }
}

export function summary(result: ImportResult): string[] {
  const lines = [
    `read ${result.read} ${result.format === 'flume' ? 'flume log entries' : 'lines'}: ` +
      `${result.accepted} accepted, ${result.duplicates} already held, ${result.rejectedCount} rejected, ${result.forked.length} forked feeds`,
  ]
  for (const rejection of result.rejected.slice(0, LISTED_REJECTIONS)) {
    const where = rejection.line !== undefined ? `line ${rejection.line}` : rejection.offset !== undefined ? `byte ${rejection.offset}` : 'message'
    const what = rejection.author ? ` (${rejection.author} #${rejection.sequence ?? '?'})` : ''
    lines.push(`  rejected ${where}${what}: ${rejection.code}: ${rejection.message}`)
  }
  if (result.rejectedCount > LISTED_REJECTIONS) lines.push(`  … and ${result.rejectedCount - LISTED_REJECTIONS} more (--json lists up to ${result.rejected.length})`)
  for (const feed of result.forked) lines.push(`  forked: ${feed} (it accepts no more messages)`)
  return lines
}
