import { key, sortTime, text, uint48 } from './codec.ts'
import type { IndexDefinition } from './definition.ts'

/** type ‖ time ‖ offset: public messages of a type, by time. Private ones stay in the inbox. */
export const byTypeIndex: IndexDefinition = {
  name: 'type',
  version: 1,
  index(message, writer) {
    const { content } = message.value
    if (message.private || typeof content !== 'object') return
    writer.put(key(text(content.type), uint48(sortTime(message)), uint48(message.offset)), new Uint8Array(0))
  },
}
