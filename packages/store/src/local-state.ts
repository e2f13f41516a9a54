import type { Level } from 'level'
import { StoreError } from './types.ts'

/**
 * A small key/value space of this peer's own state (remembered peers, settings), kept in the
 * store's LevelDB beside the log but never part of it: nothing here is replicated or indexed.
 * Values are JSON.
 */
export interface LocalState<T = unknown> {
  get(key: string): Promise<T | undefined>
  put(key: string, value: T): Promise<void>
  del(key: string): Promise<void>
  /** Every entry, in key order. */
  list(): Promise<Array<[string, T]>>
}

/** What local-state names may look like: they become LevelDB sublevel names. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/

/**
 * The local-state space `name` of `db`, under the `local` sublevel (its own key space, apart
 * from the log's and the indexes'). `assertOpen` throws once the store is closed.
 */
export function openLocalState<T>(db: Level<Buffer, Buffer>, name: string, assertOpen: () => void): LocalState<T> {
  if (!NAME.test(name)) throw new RangeError(`local state names are 1-64 of A-Z a-z 0-9 . _ -, not ${JSON.stringify(name)}`)
  const space = db.sublevel<string, string>(['local', name], { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  const decode = (key: string, text: string): T => {
    try {
      return JSON.parse(text) as T
    } catch {
      throw new StoreError('ESTORE_CORRUPT', `local state ${name}/${key} is not JSON: ${JSON.stringify(text.slice(0, 80))}`)
    }
  }
  const encode = (key: string, value: T): string => {
    const text = JSON.stringify(value)
    if (text === undefined) throw new TypeError(`local state ${name}/${key}: ${typeof value} cannot be stored as JSON`)
    return text
  }
  return {
    async get(key) {
      assertOpen()
      const text = await space.get(key)
      return text === undefined ? undefined : decode(key, text)
    },
    async put(key, value) {
      assertOpen()
      await space.put(key, encode(key, value))
    },
    async del(key) {
      assertOpen()
      await space.del(key)
    },
    async list() {
      assertOpen()
      const entries: Array<[string, T]> = []
      for await (const [key, text] of space.iterator()) entries.push([key, decode(key, text)])
      return entries
    },
  }
}
