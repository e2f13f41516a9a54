import { defineCommand, writeLine } from '../command.ts'
import { usageError } from '../errors.ts'
import { commandHelp, generalHelp } from '../help.ts'

export const help = defineCommand({
  name: 'help',
  summary: 'explain a command and its options',
  usage: 'help [COMMAND]',
  description: `
Without a COMMAND, lists the commands; with one, explains it and every option it
takes (as \`hearsay COMMAND --help\` does).`,
  options: {},
  maxPositionals: 1,
  examples: ['hearsay help publish'],
  async run({ positionals }, { stdout, commands }) {
    const [name] = positionals
    if (name === undefined) return writeLine(stdout, generalHelp(commands))
    const command = commands.find((candidate) => candidate.name === name)
    if (command === undefined) throw unknownCommand(name)
    await writeLine(stdout, commandHelp(command))
  },
})

export function unknownCommand(name: string) {
  return usageError(`unknown command ${JSON.stringify(name)} (see \`hearsay --help\`)`)
}
