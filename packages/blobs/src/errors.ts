export type BlobErrorCode =
  /** The bytes did not hash to the id they were promised under. */
  | 'EBLOB_HASH'
  /** No blob with that id is stored here. */
  | 'EBLOB_MISSING'
  /** A slice's start/end are not whole numbers with 0 <= start <= end. */
  | 'EBLOB_RANGE'
  /** The caller named a size (`{size}`) and the stored blob has another. */
  | 'EBLOB_SIZE'
  /** The blob is larger than the caller's `max`. */
  | 'EBLOB_TOO_BIG'
  /** The store was closed. */
  | 'EBLOB_CLOSED'

/** Why a blob operation failed; `code` is stable, `message` is for people. */
export class BlobError extends Error {
  override readonly name = 'BlobError'
  constructor(
    readonly code: BlobErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
