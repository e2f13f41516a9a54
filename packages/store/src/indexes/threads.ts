import type { IndexDefinition } from './definition.ts'
import { EMPTY, messageBytes, orderedKey, publicContent, rootOf } from './content.ts'

/** root(32) ‖ sortTime ‖ offset: the public messages (of any type) replying in a thread. */
export const threadsIndex: IndexDefinition = {
  name: 'threads',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null) return
    const root = rootOf(content)
    const hash = root === null ? null : messageBytes(root)
    if (hash) writer.put(orderedKey(hash, message), EMPTY)
  },
}
