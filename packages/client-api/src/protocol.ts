import type { ApiSpec, Handlers } from './define.ts'
import { toApiError, type ApiErrorShape } from './errors.ts'

/**
 * The JSON messages every bridge (WebSocket, Electron IPC) carries between a client and the
 * peer's handlers. Requests carry a client-chosen id; a source answers with items then one end.
 */
export type Request =
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'open'; id: number; method: string; args: unknown[] }
  | { type: 'close'; id: number }

export type Response =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: ApiErrorShape }
  | { type: 'item'; id: number; value: unknown }
  | { type: 'end'; id: number; error?: ApiErrorShape }

/** Parses a request from a bridge, refusing anything not shaped like one. */
export function parseRequest(data: unknown): Request | ApiErrorShape {
  const bad = (message: string): ApiErrorShape => ({ name: 'TypeError', code: 'EAPI_BAD_REQUEST', message })
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return bad('a request must be an object')
  const { type, id, method, args } = data as Record<string, unknown>
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return bad('a request needs a non-negative integer id')
  if (type === 'close') return { type, id }
  if (type !== 'call' && type !== 'open') return bad('a request type is call, open or close')
  if (typeof method !== 'string') return bad('a request needs a method name')
  if (!Array.isArray(args)) return bad('a request needs an args array')
  return { type, id, method, args }
}

/**
 * Serves one client connection: routes its requests to `handlers`, only for methods `spec`
 * declares (with the kind it declares), and sends responses with `send`. `close()` ends every
 * stream still open (the client went away).
 */
export function createDispatcher<Spec extends ApiSpec>(spec: Spec, handlers: Handlers<Spec>, send: (response: Response) => void) {
  const streams = new Map<number, AsyncIterator<unknown>>()
  let closed = false

  const unknownMethod = (method: string, kind: string): ApiErrorShape => ({
    name: 'TypeError', code: 'EAPI_UNKNOWN_METHOD', message: `no ${kind} method named ${JSON.stringify(method).slice(0, 80)}`,
  })

  const handlerFor = (method: string, kind: 'async' | 'source') => {
    if (!Object.hasOwn(spec, method) || spec[method]?.kind !== kind) return null
    return (handlers as Record<string, (...args: unknown[]) => unknown>)[method] ?? null
  }

  const call = async (id: number, method: string, args: unknown[]) => {
    const handler = handlerFor(method, 'async')
    if (!handler) return send({ type: 'error', id, error: unknownMethod(method, 'async') })
    try {
      const value = await handler(...args)
      if (!closed) send({ type: 'result', id, value: value ?? null })
    } catch (err) {
      if (!closed) send({ type: 'error', id, error: toApiError(err) })
    }
  }

  const open = async (id: number, method: string, args: unknown[]) => {
    const handler = handlerFor(method, 'source')
    if (!handler) return send({ type: 'end', id, error: unknownMethod(method, 'source') })
    if (streams.has(id)) return send({ type: 'end', id, error: { name: 'TypeError', code: 'EAPI_BAD_REQUEST', message: `stream ${id} is already open` } })
    let iterator: AsyncIterator<unknown>
    try {
      iterator = (handler(...args) as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    } catch (err) {
      return send({ type: 'end', id, error: toApiError(err) })
    }
    streams.set(id, iterator)
    try {
      for (;;) {
        const next = await iterator.next()
        if (closed || !streams.has(id)) return
        if (next.done) break
        send({ type: 'item', id, value: next.value })
      }
      streams.delete(id)
      send({ type: 'end', id })
    } catch (err) {
      if (!streams.delete(id) || closed) return
      send({ type: 'end', id, error: toApiError(err) })
    }
  }

  const stop = (id: number) => {
    const iterator = streams.get(id)
    if (!iterator) return
    streams.delete(id)
    void iterator.return?.().catch(() => undefined)
  }

  return {
    /** Handles one message from the client (already JSON-decoded). */
    receive(data: unknown): void {
      if (closed) return
      const request = parseRequest(data)
      if (!('type' in request)) {
        const id = (data as { id?: unknown } | null)?.id
        send({ type: 'error', id: typeof id === 'number' ? id : -1, error: request })
        return
      }
      if (request.type === 'call') void call(request.id, request.method, request.args)
      else if (request.type === 'open') void open(request.id, request.method, request.args)
      else {
        stop(request.id)
        send({ type: 'end', id: request.id })
      }
    },
    close(): void {
      closed = true
      for (const id of [...streams.keys()]) stop(id)
    },
  }
}
