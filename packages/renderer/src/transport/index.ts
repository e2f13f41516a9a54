import type { BlobId, ClientTransport } from '@hearsay/client-api'
import { electronTransport } from './electron.ts'
import { openWebSocketTransport, webSocketUrl } from './websocket.ts'

export type Environment = 'electron' | 'web'

export function currentEnvironment(): Environment {
  return electronTransport() ? 'electron' : 'web'
}

/**
 * Connects to the peer: Electron's preload bridge when present (it never drops), else web
 * mode's WebSocket on this page's host.
 */
export async function connectTransport(): Promise<ClientTransport> {
  return electronTransport() ?? openWebSocketTransport(webSocketUrl(window.location))
}

/** Where a blob's bytes load from: always the local store, never the network. */
export function blobUrl(id: BlobId, environment: Environment = currentEnvironment()): string {
  return environment === 'electron' ? `hearsay-blob://${encodeURIComponent(id)}` : `/blobs/${encodeURIComponent(id)}`
}
