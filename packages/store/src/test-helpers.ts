import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Identity } from '@hearsay/keys'
import { createMessage, type Content, type FeedState, type ValidMessage } from '@hearsay/message'

interface Teardown {
  after(fn: () => unknown): void
}

/** A temp directory removed when the test ends. */
export async function tempDir(t: Teardown, prefix = 'hearsay-store-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Signs a chain of messages for `identity`, continuing after `previous`. */
export function signChain(identity: Identity, contents: Content[], previous: FeedState | null = null, startTime = 1_700_000_000_000): ValidMessage[] {
  return contents.map((content, i) => {
    const message = createMessage({ identity, previous, content, timestamp: startTime + i })
    previous = { id: message.key, sequence: message.value.sequence, timestamp: message.value.timestamp }
    return message
  })
}

export function posts(count: number, prefix = 'post'): Content[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'post', text: `${prefix} ${i + 1}` }))
}

/** Everything an async iterable yields, in order. */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}
