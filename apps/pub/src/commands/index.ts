import type { Command } from '../command.ts'
import { help } from './help.ts'
import { blobsAdd, blobsGet } from './blobs.ts'
import { connect } from './connect.ts'
import { follow } from './follow.ts'
import { importCommand } from './import.ts'
import { init } from './init.ts'
import { log } from './log.ts'
import { publish } from './publish.ts'
import { start } from './start.ts'
import { status } from './status.ts'
import { whoami } from './whoami.ts'

/** Every command, in the order `hearsay --help` lists them. */
export const commands: readonly Command[] = [init, whoami, publish, log, follow, importCommand, start, status, connect, blobsAdd, blobsGet, help]
