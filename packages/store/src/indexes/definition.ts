import type { StoredMessage } from '../types.ts'

/**
 * What an index sees of a message: the stored message, with box1 content already decrypted
 * when it was addressed to this store's identity (then `private` is true). Indexes must keep
 * private messages out of anything a public query reads.
 */
export interface IndexedMessage extends StoredMessage {
  private?: true
}

/** The only way an index writes: into its own key space, inside the message's own batch. */
export interface IndexWriter {
  put(key: Uint8Array, value: Uint8Array): void
  del(key: Uint8Array): void
}

/**
 * An index derived from the log. Bumping `version` makes the store drop and rebuild this index
 * (and only this one) from the log when it next opens.
 */
export interface IndexDefinition {
  readonly name: string
  readonly version: number
  /**
   * Called once per stored message, in receive order (so each feed in sequence order), both
   * while appending and while rebuilding. Synchronous: entries join the append's atomic batch.
   */
  index(message: IndexedMessage, writer: IndexWriter): void
}

export interface IndexProgress {
  index: string
  /** Log entries processed so far, of `total`. */
  done: number
  total: number
  /** Why it is rebuilding. */
  reason: 'new' | 'version'
}
