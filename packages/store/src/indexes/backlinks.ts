import type { IndexDefinition } from './definition.ts'
import { EMPTY, publicContent, refBytes, refsIn, taggedOrderedKey } from './content.ts'

/**
 * sigil(1) ‖ target(32) ‖ sortTime ‖ offset: every public message linking to a feed (`@`), message
 * (`%`) or blob (`&`) anywhere in its content (root, branch, mentions, votes, contacts, …), once.
 */
export const backlinksIndex: IndexDefinition = {
  name: 'backlinks',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null) return
    for (const ref of refsIn(content)) {
      const bytes = refBytes(ref)
      if (bytes) writer.put(taggedOrderedKey(ref.charCodeAt(0), bytes, message), EMPTY)
    }
  },
}
