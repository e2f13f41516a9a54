import type { Command } from '../command.ts'
import { help } from './help.ts'
import { importCommand } from './import.ts'
import { init } from './init.ts'
import { log } from './log.ts'
import { publish } from './publish.ts'
import { start } from './start.ts'
import { whoami } from './whoami.ts'

/** Every command, in the order `hearsay --help` lists them. */
export const commands: readonly Command[] = [init, whoami, publish, log, importCommand, start, help]
