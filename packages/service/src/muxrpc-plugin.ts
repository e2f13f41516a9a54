import { clientApi, manifestOf, type ClientApiSpec, type Handlers } from '@hearsay/client-api'
import type { Source } from 'pull-stream'
import { toPullSource } from '@hearsay/blobs'
import { asyncMethod, sourceMethod, type PeerPlugin } from '@hearsay/network'

/** The muxrpc namespace the client API is served under, to our own key only. */
export const PLUGIN_NAME = 'hearsay'

/**
 * The client API's handlers as a muxrpc plugin (`hearsay.homeFeed(options, cb)`,
 * `hearsay.statusLive()` as a pull-stream source), with the manifest derived from the spec.
 */
export function clientApiPlugin(handlers: Handlers<ClientApiSpec>): PeerPlugin {
  const methods: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(clientApi)) {
    const handler = (handlers as Record<string, (...args: unknown[]) => unknown>)[name]!
    methods[name] = method.kind === 'async'
      ? asyncMethod(async (...args) => handler(...args))
      // blobs' pull types also allow an `undefined` end, which pull-stream's typings leave out.
      : sourceMethod((...args) => toPullSource(handler(...args) as AsyncIterable<unknown>) as unknown as Source<unknown>)
  }
  return { name: PLUGIN_NAME, manifest: manifestOf(clientApi), handlers: methods }
}
