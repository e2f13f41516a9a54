// Target 8: the `hearsay` command line. Random argv made of each command's real flags, values,
// `--`, `=`, unicode and empty strings goes through the parser cli.ts uses, with cli.ts's own
// options (the command's plus --help); a refused command line then goes through cli.ts's `run`
// itself, which must answer with one `hearsay:` line and exit status 2 without running anything.
import { Writable } from 'node:stream'
import fc from 'fast-check'
import { HELP_OPTION, asksForHelp, parseCommandArgs, type OptionSpecs } from '../../apps/pub/src/args.ts'
import { run } from '../../apps/pub/src/cli.ts'
import { commands } from '../../apps/pub/src/commands/index.ts'
import { contentFromArgs, parseRecipients } from '../../apps/pub/src/commands/publish.ts'
import { CliError, EXIT_USAGE, exitCodeOf } from '../../apps/pub/src/errors.ts'
import { methodArguments } from '../../apps/pub/src/methods.ts'
import { awkwardText } from './message.ts'
import { Tally, checkProperty, describeThrown, violation, type FuzzTarget } from './property.ts'

/** A writable that keeps what was written, as the terminal would show it. */
class Captured extends Writable {
  text = ''
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
}

const value = fc.oneof(
  fc.constantFrom('', '-', '--', '-x', '--x', '=', '0', '8008', '-1', '1e3', 'true', '{"type":"post"}', '[1]', 'null', '@x.ed25519', ' ', '\n'),
  awkwardText,
)

/** One argv element, built from the command's own flags so that parsing gets past the first. */
function token(options: OptionSpecs): fc.Arbitrary<string> {
  const names = Object.keys(options)
  const shorts = Object.values(options).flatMap((spec) => (spec.short ? [spec.short] : []))
  const flag = fc.constantFrom(...names)
  return fc.oneof(
    { weight: 4, arbitrary: flag.map((name) => `--${name}`) },
    { weight: 2, arbitrary: fc.tuple(flag, value).map(([name, text]) => `--${name}=${text}`) },
    { weight: 1, arbitrary: flag.map((name) => `--no-${name}`) },
    { weight: shorts.length > 0 ? 1 : 0, arbitrary: shorts.length > 0 ? fc.constantFrom(...shorts).map((short) => `-${short}`) : fc.constant('-h') },
    { weight: 1, arbitrary: fc.constantFrom('--', '-', '--help', '-h', '--bogus', '-Z', '--=x', '---x', '--__proto__', '--constructor', '--toString', '--data.x=1', '--data.__proto__', '--no-data') },
    { weight: 4, arbitrary: value },
  )
}

type Input = { command: number; argv: string[] }

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).join(',')

export const cliArguments: FuzzTarget = {
  name: 'fuzz: CLI argument parsing',
  quickRuns: 2_000,
  async run(runs, seed) {
    const tally = new Tally()
    const env = { HEARSAY_DATA: '/nonexistent/hearsay-fuzz-data' }
    const input: fc.Arbitrary<Input> = fc.nat(commands.length - 1).chain((index) => {
      const options = { ...commands[index]!.options, ...HELP_OPTION }
      return fc.record({ command: fc.constant(index), argv: fc.array(token(options), { maxLength: 8 }) })
    })

    const property = fc.asyncProperty(input, async ({ command: index, argv }) => {
      tally.tried++
      const command = commands[index]!
      const options: OptionSpecs = { ...command.options, ...HELP_OPTION }
      let parsed: ReturnType<typeof parseCommandArgs> | null = null
      try {
        parsed = parseCommandArgs(command.name, options, argv, command.maxPositionals)
      } catch (thrown) {
        // Its message may quote a value with a newline in it; run() below checks the printed line.
        if (!(thrown instanceof CliError) || thrown.exitCode !== EXIT_USAGE || thrown.message === '') violation(`parseCommandArgs threw ${describeThrown(thrown)}, not a usage error`)
      }
      if (parsed) {
        for (const [name, given] of Object.entries(parsed.values)) {
          const spec = options[name]
          if (!spec) violation(`--${name} was parsed but is no option of ${command.name}`)
          if (typeof given !== spec.type) violation(`--${name} is a ${spec.type} option but parsed as ${typeof given} ${JSON.stringify(given)}`)
        }
        if (parsed.positionals.length > (command.maxPositionals ?? 0)) violation(`${parsed.positionals.length} positionals accepted where ${command.name} takes ${command.maxPositionals ?? 0}`)
        if (command.name === 'publish') checkPublishValues(parsed.values as Record<string, string | boolean | undefined>)
        tally.count('parsed')
      }
      // cli.ts's own dispatch, where it cannot get past parsing (or only as far as help text).
      if (!parsed || parsed.values.help || command.name === 'help') {
        const stdout = new Captured()
        const stderr = new Captured()
        let status: number
        try {
          status = await run([command.name, ...argv], { env, stdout, stderr })
        } catch (thrown) {
          violation(`run threw ${describeThrown(thrown)}`)
        }
        const helped = parsed?.values.help === true || (!parsed && asksForHelp(argv))
        if (helped || (parsed && command.name === 'help')) {
          if (status !== 0 && !/^hearsay: [^\n]+\n$/.test(stderr.text)) violation(`help exited ${status} with ${JSON.stringify(stderr.text.slice(0, 80))}`)
        } else if (status !== EXIT_USAGE || stdout.text !== '' || !/^hearsay: [^\n]+\n$/.test(stderr.text)) {
          violation(`a refused command line exited ${status} with stderr ${JSON.stringify(stderr.text.slice(0, 120))}`)
        }
      }
      checkMethodArguments(argv)
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: tally.percentages('parsed') }
  },
}

/** publish's checks on parsed flags: usage errors (or content errors, exit 2), never a crash. */
function checkPublishValues(values: Record<string, string | boolean | undefined>): void {
  try {
    contentFromArgs(values as { type?: string; text?: string; json?: string })
    if (typeof values.recps === 'string') parseRecipients(values.recps)
  } catch (thrown) {
    if (!(thrown instanceof Error) || thrown instanceof TypeError || exitCodeOf(thrown) !== EXIT_USAGE) {
      violation(`publish's content checks threw ${describeThrown(thrown)}, not a usage error`)
    }
  }
}

/** The method-call path (`hearsay METHOD …`): minimist's reading must not reach Object.prototype. */
function checkMethodArguments(argv: readonly string[]): void {
  const pollutable = [...argv, '--__proto__.polluted=1', '--constructor.prototype.polluted=1']
  try {
    const { args, data } = methodArguments(pollutable)
    if (!Array.isArray(args)) violation('method arguments are not an array')
    // --data names a directory: it is text that was on the command line, never something made up.
    if (data !== undefined && data !== '' && !pollutable.some((arg) => arg === data || arg === `--data=${data}`)) violation(`--data read as ${JSON.stringify(data)}`)
  } catch (thrown) {
    if (!(thrown instanceof CliError) || thrown.exitCode !== EXIT_USAGE) violation(`methodArguments threw ${describeThrown(thrown)}`)
  }
  if (Object.getOwnPropertyNames(Object.prototype).join(',') !== PROTOTYPE_KEYS || 'polluted' in {}) violation('argv reached Object.prototype')
}
