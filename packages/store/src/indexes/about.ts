import type { IndexDefinition } from './definition.ts'
import { feedBytes, publicContent } from './content.ts'

/** Field bytes of the about index. */
export const NAME = 0x6e // 'n'
export const IMAGE = 0x69 // 'i'
export const DESCRIPTION = 0x64 // 'd'

/**
 * about(32) ‖ field(1) ‖ by(32) → the UTF-8 value: the latest name, image (blob id) and
 * description each feed gave each feed (itself included), from public `about` messages. A later
 * message by the same author overwrites the field it sets and leaves the others alone, as
 * Patchwork and Manyverse read profiles. `image` may be a blob id or `{link}`.
 */
export const aboutIndex: IndexDefinition = {
  name: 'about',
  version: 1,
  index(message, writer) {
    const content = publicContent(message)
    if (content === null || content.type !== 'about') return
    const about = feedBytes(content.about)
    if (!about) return
    const by = feedBytes(message.value.author)
    if (!by) return
    const { name, description } = content
    let image = content.image
    if (typeof image === 'object' && image !== null) image = (image as { link?: unknown }).link
    if (typeof name === 'string' && name.trim().length > 0) writer.put(fieldKey(about, NAME, by), Buffer.from(name.trim(), 'utf8'))
    if (typeof image === 'string' && image.length > 0) writer.put(fieldKey(about, IMAGE, by), Buffer.from(image, 'utf8'))
    if (typeof description === 'string') writer.put(fieldKey(about, DESCRIPTION, by), Buffer.from(description, 'utf8'))
  },
}

function fieldKey(about: Buffer, field: number, by: Buffer): Buffer {
  const key = Buffer.allocUnsafe(65)
  about.copy(key, 0)
  key[32] = field
  by.copy(key, 33)
  return key
}
