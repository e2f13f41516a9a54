import type { Store } from '../types.ts'
import { text } from '../indexes/codec.ts'
import { pageOfIndex, type Page, type PageOptions } from './page.ts'

/** Public messages of one type, newest first. */
export function messagesByType(store: Store, type: string, options: PageOptions = {}): Promise<Page> {
  return pageOfIndex(store, store.indexReader('type'), text(type), options)
}
