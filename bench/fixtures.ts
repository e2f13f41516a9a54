// Reads the shared fixtures (gzip NDJSON) on the fly; they are never copied into the repo.
import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { createInterface } from 'node:readline'
import path from 'node:path'

/** Where the fixtures live; HEARSAY_FIXTURES overrides it for other machines. */
export const FIXTURES_DIR = process.env.HEARSAY_FIXTURES ?? '/work/shared/fixtures'

export interface FixtureMessage {
  key: string
  value: unknown
  timestamp: number
}

/** Every `{key, value, timestamp}` of `msgs-<size>.jsonl.gz`, in file order. */
export async function loadMessages(size: '10k' | '100k'): Promise<FixtureMessage[]> {
  const file = path.join(FIXTURES_DIR, `msgs-${size}.jsonl.gz`)
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity })
  const messages: FixtureMessage[] = []
  for await (const line of lines) {
    if (line.length > 0) messages.push(JSON.parse(line) as FixtureMessage)
  }
  return messages
}
