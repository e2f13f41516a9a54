import type { IndexDefinition } from './definition.ts'
import { byTypeIndex } from './by-type.ts'

/** Every index Hearsay keeps; the store maintains all of them unless told otherwise. */
export function defaultIndexes(): IndexDefinition[] {
  return [byTypeIndex]
}
