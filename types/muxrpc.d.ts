// muxrpc ships no typings; these cover muxrpc@8's five-argument constructor as Hearsay uses it.
declare module 'muxrpc' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'pull-stream'

  export type CallType = 'sync' | 'async' | 'source' | 'sink' | 'duplex'
  export interface Manifest {
    [name: string]: CallType | Manifest
  }
  /** Allow/deny lists of method paths (`'gossip.ping'`); a null allow list allows everything. */
  export interface Permissions {
    allow?: string[] | null
    deny?: string[] | null
  }
  export interface Codec {
    (stream: Duplex<unknown, unknown>, debug?: unknown): Duplex<Buffer, Buffer>
  }

  export interface Rpc extends EventEmitter {
    /** The connection end to pipe the transport through: pull(transport, rpc.stream, transport). */
    stream: Duplex<Buffer, Buffer> & { isOpen(): boolean }
    closed: boolean
    close(err?: Error | boolean | null, cb?: (err?: Error) => void): Rpc
    /** The remote's methods, shaped by the remote manifest. */
    [method: string]: unknown
  }

  /** With a function for the remote manifest, muxrpc asks the remote for it and calls back once it has shaped the API. */
  function createMuxrpc(
    bootstrap: (err: Error | null, manifest?: Manifest) => void,
    localManifest: Manifest | null,
    localApi: object | null,
    perms?: Permissions | null,
    codec?: Codec,
  ): Rpc
  function createMuxrpc(
    remoteManifest: Manifest | null,
    localManifest: Manifest | null,
    localApi: object | null,
    perms?: Permissions | null,
    codec?: Codec,
  ): Rpc
  export default createMuxrpc
}
