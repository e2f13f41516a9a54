// ssb-lan, the reference, driven without ssb-server: its LAN class on a stub of the few
// ssb-server methods it calls. Its parsers (readLegacy, readNormal) and encoders
// (writeLegacy, writeNormal) are instance methods, not exports, so tests reach them here.
import { EventEmitter, once } from 'node:events'
import { Module, createRequire } from 'node:module'
import type { Socket } from 'node:dgram'
import type { Identity } from '@hearsay/keys'

const require = createRequire(import.meta.url)

export interface SsbLanDiscovery {
  address: string
  verified: boolean
}

interface SsbKeys {
  curve: 'ed25519'
  id: string
  public: string
  private: string
}

interface LanInstance {
  readLegacy(packet: Buffer): void
  readNormal(packet: Buffer): void
  writeLegacy(): void
  writeNormal(): void
  start(): void
  stop(): void
  getBroadcastIPs(): string[]
  notifyDiscovery: (discovery: SsbLanDiscovery) => void
  legacyBroadcast: { write(packet: Buffer | string): void } | Socket | undefined
  normalBroadcast: { write(packet: Buffer | string): void } | Socket | undefined
}

type LanClass = new (ssb: object, config: object) => LanInstance

/** The identity as ssb-keys spells it, which is what ssb-lan signs with. */
export function ssbKeysFor(identity: Identity): SsbKeys {
  return {
    curve: 'ed25519',
    id: identity.id,
    public: `${identity.publicKey.toString('base64')}.ed25519`,
    private: `${identity.secretKey.toString('base64')}.ed25519`,
  }
}

// ssb-lan reads its encrypted-beacon port from its own `port.js` at load time and offers no
// option for it. To run a real instance on a free port rather than 26830, we load the
// plugin with that one module pre-seeded in require's cache, then forget both, so the next
// load is untouched.
function loadLan(encryptedPort?: number): LanClass {
  const indexPath = require.resolve('ssb-lan')
  const portPath = require.resolve('ssb-lan/port.js')
  delete require.cache[indexPath]
  delete require.cache[portPath]
  if (encryptedPort === undefined) return require(indexPath) as LanClass
  const portModule = new Module(portPath)
  portModule.filename = portPath
  portModule.loaded = true
  portModule.exports = encryptedPort
  require.cache[portPath] = portModule
  try {
    return require(indexPath) as LanClass
  } finally {
    delete require.cache[indexPath]
    delete require.cache[portPath]
  }
}

export interface SsbLanOptions {
  identity: Identity
  caps: Buffer
  /** What ssb-server's getAddress would say: the address ssb-lan announces. */
  address: string
}

/** An ssb-lan instance whose sockets are never opened: its parsers and encoders only. */
export class SsbLanCodec extends EventEmitter<{ discovery: [SsbLanDiscovery] }> {
  readonly discoveries: SsbLanDiscovery[] = []
  protected readonly lan: LanInstance
  private sent: Buffer[] = []

  constructor(options: SsbLanOptions, Lan: LanClass = loadLan()) {
    super()
    const keys = ssbKeysFor(options.identity)
    const ssb = { id: keys.id, keys, getAddress: () => options.address, close: { hook() {} } }
    this.lan = new Lan(ssb, { caps: { shs: options.caps.toString('base64') }, lan: { legacy: true } })
    this.lan.notifyDiscovery = (discovery) => {
      this.discoveries.push(discovery)
      this.emit('discovery', discovery)
    }
  }

  /** ssb-lan's legacy parser; returns what it reported, if anything. */
  readLegacy(packet: Buffer): SsbLanDiscovery | undefined {
    return this.read(() => this.lan.readLegacy(packet))
  }

  /** ssb-lan's encrypted-beacon parser; returns what it reported, if anything. */
  readEncrypted(packet: Buffer): SsbLanDiscovery | undefined {
    return this.read(() => this.lan.readNormal(packet))
  }

  // ssb-ref prints a stack trace with console.error for every malformed address it is
  // handed; hostile-packet tests hand it dozens, so that one channel is muted meanwhile.
  private read(parse: () => void): SsbLanDiscovery | undefined {
    const before = this.discoveries.length
    const consoleError = console.error
    console.error = () => {}
    try {
      parse()
    } finally {
      console.error = consoleError
    }
    return this.discoveries[before]
  }

  /** The legacy beacon ssb-lan would broadcast, captured instead of sent. */
  encodeLegacy(): Buffer {
    return this.capture('legacyBroadcast', () => this.lan.writeLegacy())
  }

  /** The encrypted beacon ssb-lan would broadcast, captured instead of sent. */
  encodeEncrypted(): Buffer {
    return this.capture('normalBroadcast', () => this.lan.writeNormal())
  }

  private capture(field: 'legacyBroadcast' | 'normalBroadcast', write: () => void): Buffer {
    this.sent = []
    this.lan[field] = { write: (packet) => void this.sent.push(Buffer.from(packet)) }
    try {
      write()
    } finally {
      this.lan[field] = undefined
    }
    const [packet] = this.sent
    if (!packet || this.sent.length !== 1) throw new Error(`ssb-lan wrote ${this.sent.length} packets, expected 1`)
    return packet
  }
}

/**
 * A running ssb-lan instance: encrypted mode only (legacy mode is pinned to UDP 8008), its
 * port moved to `encryptedPort`, sending only to `destinations` (loopback in tests) in
 * place of the LAN broadcast address it would work out for itself.
 */
export class SsbLanPeer extends SsbLanCodec {
  private socket: Socket | null = null

  constructor(options: SsbLanOptions & { encryptedPort: number; destinations: string[] }) {
    super(options, loadLan(options.encryptedPort))
    ;(this.lan as unknown as { legacyEnabled: boolean }).legacyEnabled = false
    this.lan.getBroadcastIPs = () => options.destinations
  }

  /** Starts it and waits until its socket listens (ssb-lan's start() does not say). */
  async start(): Promise<void> {
    this.lan.start()
    const socket = this.lan.normalBroadcast as Socket | undefined
    if (!socket) throw new Error('ssb-lan did not open its encrypted-beacon socket')
    this.socket = socket
    await once(socket, 'listening')
  }

  async stop(): Promise<void> {
    const socket = this.socket
    this.socket = null
    if (!socket) return
    const closed = once(socket, 'close')
    this.lan.stop()
    await closed
  }
}
