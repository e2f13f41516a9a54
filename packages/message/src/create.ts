import sodium from 'sodium-native'
import { sign, toSignatureString, type Identity } from '@hearsay/keys'
import { MessageError } from './errors.ts'
import { MAX_MESSAGE_LENGTH, SIGNATURE_LINE_END, SIGNATURE_LINE_START, SIGNATURE_STRING_LENGTH, encodeValue, messageIdOfEncoded } from './encoding.ts'
import { checkContent, hmacKeyBytes, type ValidMessage } from './validate.ts'
import type { Content, FeedState, HmacKey, MessageValue } from './types.ts'

export interface CreateMessageOptions {
  identity: Identity
  /** The author's latest message, or null for the first one. */
  previous: FeedState | null
  content: Content
  /** The author's claimed time, ms since epoch. */
  timestamp: number
  hmacKey?: HmacKey
}

// What signing adds to the unsigned encoding: the same for every ed25519 signature.
const SIGNATURE_GROWTH = SIGNATURE_LINE_START.length + SIGNATURE_STRING_LENGTH + SIGNATURE_LINE_END.length - '\n}'.length

/** Encoded length a message with this content would have once signed; the composer's size meter. */
export function signedLength(unsigned: Omit<MessageValue, 'signature'>): number {
  return encodeValue(unsigned).length + SIGNATURE_GROWTH
}

/**
 * Creates and signs the next message of `identity`'s feed. Content passes through JSON first so
 * the object we hold is exactly what peers will parse (no undefined fields, no class instances).
 */
export function createMessage(options: CreateMessageOptions): ValidMessage {
  const { identity, previous } = options
  if (!Number.isFinite(options.timestamp)) throw new MessageError('EMSG_TIMESTAMP', 'timestamp must be a finite number')
  let content: Content
  try {
    content = JSON.parse(JSON.stringify(options.content)) as Content
  } catch (err) {
    throw new MessageError('EMSG_CONTENT', `content must be JSON-serialisable: ${(err as Error).message}`)
  }
  checkContent(content)
  const hmac = hmacKeyBytes(options.hmacKey)
  const unsigned: Omit<MessageValue, 'signature'> = {
    previous: previous ? previous.id : null,
    sequence: previous ? previous.sequence + 1 : 1,
    author: identity.id,
    timestamp: options.timestamp,
    hash: 'sha256',
    content,
  }
  const length = signedLength(unsigned)
  if (length > MAX_MESSAGE_LENGTH) {
    throw new MessageError('EMSG_TOO_LARGE', `this message would be ${length} UTF-16 units long once signed; the limit is ${MAX_MESSAGE_LENGTH} (${length - MAX_MESSAGE_LENGTH} over)`)
  }
  let signed = Buffer.from(encodeValue(unsigned), 'utf8')
  if (hmac) {
    const mac = Buffer.alloc(32)
    sodium.crypto_auth(mac, signed, hmac)
    signed = mac
  }
  const value: MessageValue = { ...unsigned, signature: toSignatureString(sign(identity, signed)) }
  return { key: messageIdOfEncoded(encodeValue(value)), value }
}
