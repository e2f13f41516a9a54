// Hand-made feeds for tests that play a hostile peer: valid chains to start from, and values
// signed whatever they say.
import { sign, toSignatureString, type Identity } from '@hearsay/keys'
import { createMessage, encodeValue, messageIdOf, type MessageValue } from '@hearsay/message'

/**
 * `count` valid posts by `identity` ("TEXT 1", "TEXT 2", …) after `after` (a valid chain of
 * the same feed, returned first), with deterministic timestamps.
 */
export function chain(identity: Identity, count: number, { text = 'post', after = [] as readonly MessageValue[] } = {}): MessageValue[] {
  const values = [...after]
  let last = values.at(-1)
  for (let i = 1; i <= count; i++) {
    const sequence = (last?.sequence ?? 0) + 1
    const previous = last ? { id: messageIdOf(last), sequence: last.sequence, timestamp: last.timestamp } : null
    last = createMessage({ identity, previous, content: { type: 'post', text: `${text} ${i}` }, timestamp: 1_700_000_000_000 + sequence }).value
    values.push(last)
  }
  return values
}

/** Signs whatever `unsigned` is, bypassing createMessage's checks (for oversize messages). */
export function signAnything(identity: Identity, unsigned: Omit<MessageValue, 'signature'>): MessageValue {
  return { ...unsigned, signature: toSignatureString(sign(identity, Buffer.from(encodeValue(unsigned), 'utf8'))) }
}
