import { InvalidRefError } from '@hearsay/keys'
import { MessageError, type MessageErrorCode } from '@hearsay/message'
import { Box1Error } from '@hearsay/box1'

/** Exit status of a command line the user got wrong: unknown command or flag, bad argument. */
export const EXIT_USAGE = 2
/** Exit status of a failure while doing what was asked: missing data, corrupt files, the store. */
export const EXIT_FAILURE = 1

/** A failure whose message is written for the user, as the one line `hearsay: <message>`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE)
}

const CONTENT_ERRORS: ReadonlySet<MessageErrorCode> = new Set(['EMSG_CONTENT', 'EMSG_TYPE', 'EMSG_TOO_LARGE'])

/**
 * The exit status for any error. Errors about what the user asked for (content that is not
 * valid message content, a feed id that names no usable key, too many recipients) are usage
 * errors wherever they surface; everything else is a runtime failure.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode
  if (err instanceof MessageError) return CONTENT_ERRORS.has(err.code) ? EXIT_USAGE : EXIT_FAILURE
  if (err instanceof InvalidRefError || err instanceof Box1Error) return EXIT_USAGE
  return EXIT_FAILURE
}

/** The error's message as exactly one line. */
export function messageOf(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim()
  return text === '' ? 'unknown error' : text
}
