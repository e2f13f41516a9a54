import { clientApi, createDispatcher, toApiError, type ClientApiSpec, type Handlers } from '@hearsay/client-api'
import type { BackendCommand, BackendReport } from './channels.ts'

/** A MessagePortMain as the utility process sees it (one end of a window's line to the peer). */
export interface PeerPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
  on(event: 'close', listener: () => void): unknown
  postMessage(message: unknown): void
  start(): void
}

/** The utility process's line to the main process (`process.parentPort`). */
export interface ParentLine {
  on(event: 'message', listener: (event: { data: unknown; ports: PeerPort[] }) => void): unknown
  postMessage(message: BackendReport): void
}

/** What the backend needs of a running app (packages/service's `App`). */
export interface RunningApp {
  id: string
  blobs: { dir: string }
  handlers: Handlers<ClientApiSpec>
  close(): Promise<void>
}

/** Serves the client API on one window's port until that window goes away. */
export function servePort(port: PeerPort, handlers: Handlers<ClientApiSpec>): void {
  const dispatcher = createDispatcher(clientApi, handlers, (response) => port.postMessage(response))
  port.on('message', (event) => dispatcher.receive(event.data))
  port.on('close', () => dispatcher.close())
  port.start()
}

/**
 * The utility process's whole job: start the app, report where its blobs are, serve every port
 * the main process sends, and close the app (so LevelDB is closed cleanly) when told to stop.
 * Ports that arrive while the app is still starting are served once it is up.
 */
export function runBackend(parent: ParentLine, start: () => Promise<RunningApp>, exit: (code: number) => void): Promise<void> {
  const starting = start()
  parent.on('message', (event) => {
    const command = event.data as BackendCommand | null
    if (command?.type === 'connect') {
      const [port] = event.ports
      if (port) starting.then((app) => servePort(port, app.handlers), () => undefined)
    } else if (command?.type === 'stop') {
      starting.then((app) => app.close(), () => undefined).then(
        () => exit(0),
        () => exit(1),
      )
    }
  })
  return starting.then(
    (app) => parent.postMessage({ type: 'ready', id: app.id, blobsDir: app.blobs.dir }),
    // The process stays up to be stopped like any other: exiting now could drop the report.
    (err: unknown) => parent.postMessage({ type: 'failed', message: toApiError(err).message }),
  )
}
