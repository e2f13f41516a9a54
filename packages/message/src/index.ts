export type { Content, MessageValue, Message, FeedState, HmacKey } from './types.ts'
export { MessageError, type MessageErrorCode } from './errors.ts'
export { MAX_MESSAGE_LENGTH, encodeValue, messageIdOf } from './encoding.ts'
export { verifyMessage, checkSuccessor, validateMessage, checkContent, isBoxedContent, type ValidMessage } from './validate.ts'
export { createMessage, signedLength, type CreateMessageOptions } from './create.ts'
export {
  createValidationPool, type ValidationPool, type ValidationPoolOptions, type VerifyOutcome, type VerifyError,
} from './validation-pool.ts'
