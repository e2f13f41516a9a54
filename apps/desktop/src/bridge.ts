import type { ContextBridge, IpcRenderer, IpcRendererEvent } from 'electron'
import type { ClientTransport, Request, Response } from '@hearsay/client-api'
import { Channel } from './channels.ts'

/** What the page sees as `window.hearsay`: the client API's transport, and nothing more. */
export type HearsayBridge = ClientTransport

/** The name the page finds the bridge under. */
export const BRIDGE_NAME = 'hearsay'

/**
 * The transport the preload gives the page. It asks the main process for a port to the peer,
 * queues requests until the port arrives, then passes requests and responses straight through.
 */
export function createBridge(ipc: Pick<IpcRenderer, 'on' | 'send'>): HearsayBridge {
  const responseListeners: Array<(response: Response) => void> = []
  const closeListeners: Array<(reason: string) => void> = []
  const queued: Request[] = []
  let port: IpcRendererEvent['ports'][number] | null = null
  let closedReason: string | null = null

  const close = (reason: string) => {
    if (closedReason !== null) return
    closedReason = reason
    queued.length = 0
    port?.close()
    port = null
    for (const listener of closeListeners) listener(reason)
  }

  ipc.on(Channel.port, (event) => {
    const received = event.ports[0]
    if (!received || port !== null || closedReason !== null) return
    port = received
    received.onmessage = (message: MessageEvent) => {
      for (const listener of responseListeners) listener(message.data as Response)
    }
    received.start()
    for (const request of queued.splice(0)) received.postMessage(request)
  })
  ipc.on(Channel.closed, (_event, reason: unknown) => close(typeof reason === 'string' ? reason : 'the peer went away'))
  ipc.send(Channel.connect)

  return {
    send(request) {
      if (closedReason !== null) return
      if (port) port.postMessage(request)
      else queued.push(request)
    },
    onResponse(listener) {
      responseListeners.push(listener)
    },
    onClose(listener) {
      if (closedReason !== null) listener(closedReason)
      else closeListeners.push(listener)
    },
  }
}

/** Puts the bridge on the page's `window`, across the context-isolation boundary. */
export function exposeBridge(contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>, ipc: Pick<IpcRenderer, 'on' | 'send'>): void {
  contextBridge.exposeInMainWorld(BRIDGE_NAME, createBridge(ipc))
}
