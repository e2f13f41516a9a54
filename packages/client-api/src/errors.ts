/** An error as it crosses the client API, whichever bridge carries it. */
export interface ApiErrorShape {
  name: string
  /** Stable, for code to branch on (e.g. EMSG_TOO_LARGE, ESTORE_FORKED, EAPI_UNKNOWN_METHOD). */
  code: string
  message: string
}

/** What a client's promise rejects with (and what a stream ends with): the shape, as an Error. */
export class ApiError extends Error implements ApiErrorShape {
  readonly code: string

  constructor(shape: ApiErrorShape) {
    super(shape.message)
    this.name = shape.name
    this.code = shape.code
  }
}

/** The shape of anything thrown by a handler; the stack stays on the peer's side. */
export function toApiError(err: unknown): ApiErrorShape {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return { name: err.name, code: typeof code === 'string' ? code : 'EAPI_INTERNAL', message: err.message }
  }
  return { name: 'Error', code: 'EAPI_INTERNAL', message: String(err) }
}

export function isApiErrorShape(value: unknown): value is ApiErrorShape {
  if (value === null || typeof value !== 'object') return false
  const { name, code, message } = value as Record<string, unknown>
  return typeof name === 'string' && typeof code === 'string' && typeof message === 'string'
}
