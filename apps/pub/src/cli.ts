import { asksForHelp, HELP_OPTION, parseCommandArgs } from './args.ts'
import type { Context } from './command.ts'
import { writeLine } from './command.ts'
import { commands } from './commands/index.ts'
import { unknownCommand } from './commands/help.ts'
import { exitCodeOf, messageOf, usageError } from './errors.ts'
import { commandHelp, generalHelp } from './help.ts'

/**
 * Runs one command line and returns the exit status. Whatever fails is reported as exactly
 * one line, `hearsay: <message>`, on stderr; HEARSAY_DEBUG=1 adds the stack after it.
 */
export async function run(argv: readonly string[], io: Omit<Context, 'commands'>): Promise<number> {
  const context: Context = { ...io, commands }
  try {
    const [name, ...rest] = argv
    if (name === '--help' || name === '-h') {
      await writeLine(context.stdout, generalHelp(commands))
      return 0
    }
    if (name === undefined) throw usageError('no command given (see `hearsay --help`)')
    if (name.startsWith('-')) throw usageError(`unknown option ${name}: options go after the command, as in \`hearsay COMMAND ${name}\` (see \`hearsay --help\`)`)
    const command = commands.find((candidate) => candidate.name === name)
    if (command === undefined) {
      // Loaded here: only a name that is no command needs the method-call machinery.
      const { runMethod } = await import('./methods.ts')
      await runMethod(name, rest, context, unknownCommand(name))
      return 0
    }

    let args
    try {
      args = parseCommandArgs(command.name, { ...command.options, ...HELP_OPTION }, rest, command.maxPositionals)
    } catch (err) {
      // `hearsay publish --bogus --help` still deserves the help it asked for.
      if (!asksForHelp(rest)) throw err
      args = undefined
    }
    if (args === undefined || args.values.help) {
      await writeLine(context.stdout, commandHelp(command))
      return 0
    }
    await command.run(args, context)
    return 0
  } catch (err) {
    const code = exitCodeOf(err)
    await writeLine(context.stderr, `hearsay: ${messageOf(err)}`)
    if (context.env.HEARSAY_DEBUG === '1' && err instanceof Error && err.stack) {
      await writeLine(context.stderr, err.stack)
    }
    return code
  }
}
