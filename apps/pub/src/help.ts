import { HELP_OPTION, type OptionSpec, type OptionSpecs } from './args.ts'
import type { Command } from './command.ts'

function optionsTable(options: OptionSpecs): string[] {
  const rows = Object.entries<OptionSpec>({ ...options, ...HELP_OPTION }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`
    return [flag, spec.description] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`)
}

/** The full help of one command: usage, what it does, every flag, examples. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: hearsay ${command.usage}`, '', command.description.trim(), '', 'Options:', ...optionsTable(command.options)]
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`))
  return lines.join('\n')
}

/** `hearsay --help`: every command with its one-line summary. */
export function generalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return [
    'Usage: hearsay COMMAND [OPTIONS]',
    '',
    'Hearsay keeps your Secure Scuttlebutt identity and feed in a data directory',
    '(--data DIR, else $HEARSAY_DATA, else ~/.hearsay).',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `hearsay help COMMAND` or `hearsay COMMAND --help` for its options.',
    '',
    'While `hearsay start` runs, every method the peer offers its owner can be called as',
    '`hearsay METHOD [ARGS] [--OPTION VALUE]` (`hearsay manifest` lists them), e.g.',
    '`hearsay latestSequence @…=.ed25519` or `hearsay createHistoryStream --id @…=.ed25519 --limit 3`.',
  ].join('\n')
}
