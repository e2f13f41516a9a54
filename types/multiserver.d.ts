// multiserver ships no typings; these cover the net + shs plugins Hearsay composes.
declare module 'multiserver' {
  import type { Duplex } from 'pull-stream'

  /** A raw or transformed connection: a pull duplex of Buffers plus what the plugins learned. */
  export interface MultiserverStream extends Duplex<Buffer, Buffer> {
    /** Where it came from, e.g. `net:127.0.0.1:8008~shs:<key>`. */
    address: string
    /** Set by the shs transform: the remote's ed25519 public key. */
    remote?: Buffer
    /** Set by the shs transform on the server side: what `auth` answered. */
    auth?: unknown
    meta?: unknown
  }

  export interface Plugin {
    name: string
    scope(): string | string[]
    parse(address: string): unknown
    stringify(scope?: string): string | null | undefined
  }

  export interface Transform {
    name: string
    create(options?: unknown): (stream: MultiserverStream, cb: (err: Error | null, stream?: MultiserverStream) => void) => void
    parse(address: string): unknown
    stringify(scope?: string): string | undefined
    publicKey?: Buffer
  }

  export type CloseServer = (cb?: (err?: Error | null) => void) => void

  export interface Multiserver {
    name: string
    client(address: string, cb: (err: Error | null, stream?: MultiserverStream) => void): void
    server(
      onConnect: (stream: MultiserverStream) => void,
      onError?: (err: Error & { address?: string }) => void,
      onStarted?: (err?: Error | null) => void,
    ): CloseServer
    stringify(scope?: string): string
  }

  function MultiServer(plugs: Array<[Plugin, ...Transform[]]>, wrap?: (stream: MultiserverStream) => MultiserverStream): Multiserver
  export default MultiServer
}

declare module 'multiserver/plugins/net.js' {
  import type { Plugin } from 'multiserver'
  function Net(options: { host?: string; port?: number; scope?: string | string[]; allowHalfOpen?: boolean }): Plugin
  export default Net
}

declare module 'multiserver/plugins/shs.js' {
  import type { Transform } from 'multiserver'
  export interface ShsKeys {
    publicKey: Buffer
    secretKey: Buffer
  }
  function Shs(options: {
    keys: ShsKeys
    /** The network's caps key (32 bytes, or base64 of them). */
    appKey: Buffer | string
    /** Server side: cb(null, falsy) refuses the client; anything truthy lands in stream.auth. */
    auth: (publicKey: Buffer, cb: (err: Error | null, auth?: unknown) => void) => void
    timeout?: number
  }): Transform
  export default Shs
}
