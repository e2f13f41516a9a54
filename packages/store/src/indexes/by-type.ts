import { text } from './codec.ts'
import type { IndexDefinition } from './definition.ts'
import { writeOrder, ORDER_BYTES } from './content.ts'

/** type ‖ time ‖ offset: public messages of a type, by time. Private ones stay in the inbox. */
export const byTypeIndex: IndexDefinition = {
  name: 'type',
  version: 1,
  index(message, writer) {
    const { content } = message.value
    if (message.private || typeof content !== 'object') return
    const prefix = typePrefix(content.type)
    const key = Buffer.allocUnsafe(prefix.length + ORDER_BYTES)
    prefix.copy(key, 0)
    writeOrder(key, prefix.length, message)
    writer.put(key, EMPTY)
  },
}

const EMPTY = new Uint8Array(0)
/** `text(type)` of the types met so far (a few dozen in practice; a flood of odd ones is not kept). */
const prefixes = new Map<string, Buffer>()
const MAX_PREFIXES = 1024

function typePrefix(type: string): Buffer {
  let prefix = prefixes.get(type)
  if (prefix === undefined) {
    prefix = text(type)
    if (prefixes.size < MAX_PREFIXES) prefixes.set(type, prefix)
  }
  return prefix
}
