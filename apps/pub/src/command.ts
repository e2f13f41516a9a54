import type { OptionSpecs, ParsedArgs } from './args.ts'

/** What a command may touch besides its arguments; tests and main.ts supply the real process's. */
export interface Context {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Every command, for `hearsay help`. */
  readonly commands: readonly Command[]
}

/**
 * A subcommand and its help. The help text lives with the command so the two change together;
 * the options table in it is generated from `options`, so every flag is always explained.
 */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string
  /** One line for the command list in `hearsay --help`. */
  readonly summary: string
  /** The usage line after `hearsay `, e.g. `whoami [--json] [--data DIR]`. */
  readonly usage: string
  /** What the command does, in a few sentences (wrapped by hand). */
  readonly description: string
  readonly options: O
  /** How many positional arguments it takes (default none). */
  readonly maxPositionals?: number
  readonly examples?: readonly string[]
  run(args: ParsedArgs<O>, context: Context): Promise<void>
}

/** Identity function that lets TypeScript infer a command's option types from its specs. */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command<O> {
  return command
}

/** Writes one line, waiting when the stream's buffer is full (large logs into slow pipes). */
export async function writeLine(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(`${text}\n`)) {
    await new Promise<void>((resolve) => stream.once('drain', resolve))
  }
}
