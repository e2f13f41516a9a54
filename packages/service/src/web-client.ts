// Web mode's WebSocket reached from Node as a browser page reaches it, for the tests and the
// stress suite: the socket (or the HTTP status that refused it), and the client API over it.
import { WebSocket } from 'ws'
import { clientApi, createClient, type Client, type ClientApiSpec, type Response } from '@hearsay/client-api'

export interface BridgeSocketOptions {
  /** The Origin a page would send (a browser always does); none by default. */
  origin?: string
  headers?: Record<string, string>
}

/** Opens `url` (`ws://HOST/api?secret=…`): resolves with the open socket, or with the HTTP status it was refused with. */
export function openBridgeSocket(url: string, options: BridgeSocketOptions = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: options.headers ?? {}, ...(options.origin ? { origin: options.origin } : {}) })
    socket.once('open', () => resolve(socket))
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode!)
      socket.terminate()
    })
    socket.once('error', reject)
  })
}

/** The client API over an open bridge socket: one JSON request or response per text frame, as the renderer speaks it. */
export function bridgeClient(socket: WebSocket): Client<ClientApiSpec> {
  let listener: ((response: Response) => void) | undefined
  socket.on('message', (data) => listener?.(JSON.parse(data.toString()) as Response))
  return createClient(clientApi, {
    send: (request) => socket.send(JSON.stringify(request)),
    onResponse: (onResponse) => (listener = onResponse),
    onClose: (onClose) => socket.once('close', () => onClose('closed')),
  })
}
