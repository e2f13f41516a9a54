export type Box1ErrorCode = 'EBOXRECIPIENTS' | 'EBOXCONTENT'

export class Box1Error extends Error {
  override readonly name = 'Box1Error'
  constructor(
    message: string,
    readonly code: Box1ErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
