import { clientApi, manifestOf, toApiError, type ClientApiSpec, type Handlers } from '@hearsay/client-api'
import { toPullSource } from '@hearsay/blobs'
import type { PeerPlugin } from '@hearsay/network'

/** The muxrpc namespace the client API is served under, to our own key only. */
export const PLUGIN_NAME = 'hearsay'

type Callback = (err: Error | null, value?: unknown) => void

/**
 * muxrpc sends only an error's name, message and stack, so the API's stable code travels in the
 * stack's one line, `Name [CODE]: message`; `codeOfRpcError` reads it back.
 */
function rpcError(err: unknown): Error {
  const shape = toApiError(err)
  const error = new Error(shape.message)
  error.name = shape.name
  error.stack = `${shape.name} [${shape.code}]: ${shape.message}`
  return error
}

/** The client API code of an error a `hearsay.*` muxrpc call ended with, if it carries one. */
export function codeOfRpcError(err: unknown): string | null {
  const stack = (err as { stack?: unknown } | null)?.stack
  const match = typeof stack === 'string' ? /^[^\n[]* \[([A-Z0-9_]+)\]: /.exec(stack) : null
  return match ? match[1]! : null
}

/**
 * The client API's handlers as a muxrpc plugin (`hearsay.homeFeed(options, cb)`,
 * `hearsay.statusLive()` as a pull-stream source), with the manifest derived from the spec.
 */
export function clientApiPlugin(handlers: Handlers<ClientApiSpec>): PeerPlugin {
  const methods: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(clientApi)) {
    const handler = (handlers as Record<string, (...args: unknown[]) => unknown>)[name]!
    if (method.kind === 'async') {
      methods[name] = (...args: unknown[]) => {
        const cb = args.pop() as Callback
        let result: Promise<unknown>
        try {
          result = Promise.resolve(handler(...args))
        } catch (err) {
          cb(rpcError(err))
          return
        }
        result.then((value) => cb(null, value ?? null), (err: unknown) => cb(rpcError(err)))
      }
    } else {
      methods[name] = (...args: unknown[]) => {
        try {
          const source = toPullSource(handler(...args) as AsyncIterable<unknown>)
          return (abort: unknown, cb: (end: unknown, data?: unknown) => void) =>
            source(abort as never, (end, data) => cb(end instanceof Error ? rpcError(end) : end, data))
        } catch (err) {
          const error = rpcError(err)
          return (_abort: unknown, cb: (end: unknown) => void) => cb(error)
        }
      }
    }
  }
  return { name: PLUGIN_NAME, manifest: manifestOf(clientApi), handlers: methods }
}
