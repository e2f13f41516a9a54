/**
 * The IPC channels between the preload and the main process, in one place. The client API's
 * requests and responses never travel on them: they only set up and tear down the MessagePort
 * that links the window straight to the peer's utility process.
 */
export const Channel = {
  /** preload → main: give me a port to the peer (sent once per page load). */
  connect: 'hearsay:connect',
  /** main → preload: the port, in `event.ports[0]`. */
  port: 'hearsay:port',
  /** main → preload: the peer is gone; the argument says why. */
  closed: 'hearsay:closed',
} as const

/** The messages between the main process and the utility process that runs the peer. */
export type BackendCommand = { type: 'connect' } | { type: 'stop' }

export type BackendReport = { type: 'ready'; id: string; blobsDir: string } | { type: 'failed'; message: string }
