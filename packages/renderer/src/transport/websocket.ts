import type { ClientTransport, Request, Response } from '@hearsay/client-api'

/** Where web mode's bridge listens: the page's own host, with the secret the page URL carried. */
export function webSocketUrl(location: Pick<Location, 'host' | 'search' | 'protocol'>): string {
  const secret = new URLSearchParams(location.search).get('secret') ?? ''
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}/api?secret=${encodeURIComponent(secret)}`
}

/**
 * Opens web mode's WebSocket bridge: one JSON Request or Response per text frame. Resolves once
 * the socket is open; rejects if it never opens. The transport reports its close once; the
 * caller reconnects with a new transport (and a new client).
 */
export function openWebSocketTransport(url: string): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    let responseListener: ((response: Response) => void) | null = null
    // The client and the reconnect logic both listen for the close.
    const closeListeners: Array<(reason: string) => void> = []
    let opened = false

    socket.addEventListener('open', () => {
      opened = true
      resolve({
        send(request: Request) {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(request))
        },
        onResponse(listener) {
          responseListener = listener
        },
        onClose(listener) {
          closeListeners.push(listener)
        },
      })
    })
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return
      let response: unknown
      try {
        response = JSON.parse(event.data)
      } catch {
        return socket.close(4000, 'the peer sent a frame that is not JSON')
      }
      if (isResponse(response)) responseListener?.(response)
    })
    socket.addEventListener('close', (event) => {
      if (!opened) return reject(new Error(`could not reach the peer (${event.code || 'no answer'})`))
      const reason = event.reason || `connection closed (${event.code})`
      for (const listener of closeListeners) listener(reason)
    })
  })
}

function isResponse(value: unknown): value is Response {
  if (value === null || typeof value !== 'object') return false
  const { type, id } = value as Record<string, unknown>
  return typeof id === 'number' && (type === 'result' || type === 'error' || type === 'item' || type === 'end')
}
