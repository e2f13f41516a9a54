import { parseArgs } from 'node:util'
import { usageError } from './errors.ts'

/** One flag of a command: how node's parseArgs reads it, and how `--help` explains it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The value's placeholder in help, e.g. `DIR` for `--data DIR` (string options only). */
  readonly value?: string
  readonly description: string
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

/** What the flags parsed to: a string or boolean per flag given, absent when not given. */
export type OptionValues<O extends OptionSpecs> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean
}

export interface ParsedArgs<O extends OptionSpecs> {
  values: OptionValues<O>
  positionals: string[]
}

/** Every command accepts `-h, --help`; the dispatcher answers it before the command runs. */
export const HELP_OPTION = {
  help: { type: 'boolean', short: 'h', description: 'show this help and exit' },
} as const satisfies OptionSpecs

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options']

function parseArgsOptions(specs: OptionSpecs): ParseArgsOptions {
  const options: NonNullable<ParseArgsOptions> = {}
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }
  }
  return options
}

/**
 * Parses a command's arguments strictly: unknown flags, missing values, values given to
 * switches, a flag given twice and unexpected positional arguments are all usage errors
 * whose one-line message names the offending argument.
 */
export function parseCommandArgs<O extends OptionSpecs>(
  command: string,
  specs: O,
  args: readonly string[],
  maxPositionals = 0,
): ParsedArgs<O> {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...args],
      options: parseArgsOptions(specs),
      strict: true,
      allowPositionals: maxPositionals > 0,
      tokens: true,
    })
  } catch (err) {
    throw usageError(explainParseError(command, specs, args, maxPositionals, err))
  }
  const seen = new Set<string>()
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue
    if (seen.has(token.name)) throw usageError(`--${token.name} was given more than once`)
    seen.add(token.name)
  }
  if (parsed.positionals.length > maxPositionals) {
    throw usageError(`unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}${seeHelp(command)}`)
  }
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals }
}

/** Whether `--help` or `-h` appears as a flag (before any `--`), however wrong the rest is. */
export function asksForHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}

function seeHelp(command: string): string {
  return ` (see \`hearsay ${command} --help\`)`
}

/**
 * Node's parseArgs messages span several lines and vary between versions, so the arguments
 * are re-read leniently to find which one the strict parse refused, and that is described.
 */
function explainParseError(command: string, specs: OptionSpecs, args: readonly string[], maxPositionals: number, err: unknown): string {
  const { tokens } = parseArgs({ args: [...args], options: parseArgsOptions(specs), strict: false, allowPositionals: true, tokens: true })
  let positionals = 0
  for (const token of tokens) {
    if (token.kind === 'positional' && ++positionals > maxPositionals) return `unexpected argument ${JSON.stringify(token.value)}${seeHelp(command)}`
    if (token.kind !== 'option') continue
    const spec = specs[token.name]
    if (spec === undefined) return `unknown option ${token.rawName} for \`hearsay ${command}\`${seeHelp(command)}`
    const flag = `--${token.name}${spec.value ? ` ${spec.value}` : ''}`
    if (spec.type === 'boolean' && token.value !== undefined) return `--${token.name} takes no value`
    if (spec.type === 'string' && token.value === undefined) return `${token.rawName} needs a value: ${flag}`
    if (spec.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      return `${token.rawName} needs a value (to give one starting with '-', write --${token.name}=${token.value})`
    }
  }
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0] ?? text
}
