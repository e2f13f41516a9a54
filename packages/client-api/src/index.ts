export { asyncMethod, sourceMethod, manifestOf, type ApiSpec, type Client, type Handlers, type MethodKind, type MethodSpec, type Subscription } from './define.ts'
export { ApiError, toApiError, isApiErrorShape, type ApiErrorShape } from './errors.ts'
export { createDispatcher, parseRequest, type Request, type Response } from './protocol.ts'
export { createClient, type ClientTransport } from './client.ts'
export { clientApi, type ClientApiSpec } from './spec.ts'
export type * from './views.ts'
export {
  postContent, mentionsIn, signedSizeOf, draftSize, draftTooLarge,
  MAX_MESSAGE_LENGTH, MAX_RECIPIENTS, MAX_CONTENT_WARNING, type PostContent,
} from './draft.ts'
export { isFeedIdShape, isMessageIdShape, isBlobIdShape, sigilInText, shortId } from './refs.ts'
