// The shared fixture logs live beside the repository (../shared/fixtures) and are read in place,
// never copied in. Every test and benchmark finds them here, and a missing fixture is an error:
// a test that quietly skips when its data is absent could never fail.
import { createReadStream, existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createGunzip } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MessageId } from '@hearsay/keys'
import type { MessageValue } from '@hearsay/message'

/** `../shared/fixtures` from the repository root, unless HEARSAY_FIXTURES points elsewhere. */
export const FIXTURES_DIR = path.resolve(process.env.HEARSAY_FIXTURES ?? fileURLToPath(new URL('../../../../shared/fixtures', import.meta.url)))

export type FixtureSize = '10k' | '100k'

export interface FixtureMessage {
  key: MessageId
  value: MessageValue
  timestamp: number
}

/** The path of a fixture file; throws, naming where it looked, when it is not there. */
export function fixturePath(name: string): string {
  const file = path.join(FIXTURES_DIR, name)
  if (!existsSync(file)) {
    throw new Error(`fixture ${name} not found at ${file}: the shared fixtures must sit beside the repository (../shared/fixtures), or HEARSAY_FIXTURES must point at them`)
  }
  return file
}

/** `msgs-<size>.jsonl.gz`: the NDJSON log, in the order an ssb-db@20 database received it. */
export function messagesPath(size: FixtureSize): string {
  return fixturePath(`msgs-${size}.jsonl.gz`)
}

/** `flume-10k.log.offset.gz`: the same 10k messages as ssb-server's flume/log.offset. */
export function flumeLogPath(): string {
  return fixturePath('flume-10k.log.offset.gz')
}

/** The secret file (ssb-keys format) of the fixture's main identity. */
export function mainSecretPath(size: FixtureSize): string {
  return fixturePath(`main-${size}.secret.json`)
}

/** Each `{key, value, timestamp}` of the fixture, in file order, gunzipped on the fly. */
export async function* fixtureMessages(size: FixtureSize): AsyncGenerator<FixtureMessage> {
  const lines = createInterface({ input: createReadStream(messagesPath(size)).pipe(createGunzip()), crlfDelay: Infinity })
  for await (const line of lines) if (line.length > 0) yield JSON.parse(line) as FixtureMessage
}

export async function loadFixtureMessages(size: FixtureSize): Promise<FixtureMessage[]> {
  const messages: FixtureMessage[] = []
  for await (const message of fixtureMessages(size)) messages.push(message)
  return messages
}
