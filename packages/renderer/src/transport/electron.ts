import type { ClientTransport } from '@hearsay/client-api'

declare global {
  interface Window {
    /** The Electron preload's bridge (contextBridge), shaped as a ClientTransport. Absent in web mode. */
    hearsay?: ClientTransport
  }
}

/** The Electron bridge, when the page runs inside the desktop app. */
export function electronTransport(): ClientTransport | null {
  return window.hearsay ?? null
}
