export type MessageErrorCode =
  | 'EMSG_NOT_OBJECT'
  | 'EMSG_KEY_ORDER'
  | 'EMSG_AUTHOR'
  | 'EMSG_SEQUENCE'
  | 'EMSG_PREVIOUS'
  | 'EMSG_FORK'
  | 'EMSG_TIMESTAMP'
  | 'EMSG_HASH'
  | 'EMSG_CONTENT'
  | 'EMSG_TYPE'
  | 'EMSG_TOO_LARGE'
  | 'EMSG_SIGNATURE_FORMAT'
  | 'EMSG_SIGNATURE'
  | 'EMSG_HMAC_KEY'

/** Why a message is not a valid next message of its feed; `code` is stable, `message` is for people. */
export class MessageError extends Error {
  override readonly name = 'MessageError'
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message)
  }
}
