import { EventEmitter } from 'node:events'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Service } from 'bonjour-service'
import { formatNetShsAddress, isFeedId, type FeedId, type Identity, type NetShsAddress } from '@hearsay/keys'
import { parseLanAddress } from './address.ts'
import {
  BEACON_INTERVAL, ENCRYPTED_PORT, LEGACY_PORT, MAX_BEACON_BYTES,
  decodeCaps, encodeEncryptedBeacon, encodeLegacyBeacon, parseEncryptedBeacon, parseLegacyBeacon,
} from './beacon.ts'
import { DiscoveryOptionsError } from './errors.ts'
import { defaultBroadcastTargets, hostFacing, type BroadcastTarget } from './interfaces.ts'
import { MdnsChannel, parseMdnsService, type MdnsOptions } from './mdns.ts'

export type PeerSource = 'legacy' | 'encrypted' | 'mdns'

export interface DiscoveredPeer {
  /** `net:IP:PORT~shs:KEY`, ready to dial. */
  readonly address: string
  readonly key: FeedId
  readonly host: string
  readonly port: number
  /**
   * How we heard of it. Only `encrypted` is signed by `key`; `legacy` and `mdns` are bare
   * claims. None is proof: the secret handshake on connecting is what checks the key.
   */
  readonly source: PeerSource
  /** Who sent the packet, for callers that want to compare it with `host`. */
  readonly from: { readonly address: string; readonly port: number }
}

export interface UdpChannelOptions {
  /** Port to listen on; default 8008 (legacy) or 26830 (encrypted). */
  port?: number
  /** Port to send to; default `port`, since every peer listens on the same one. */
  sendPort?: number
}

export interface LanDiscoveryOptions {
  identity: Identity
  /** The network's caps key (ssb-caps' `shs`; MAIN_NETWORK_CAPS for the main network). */
  caps: string | Uint8Array
  /** The TCP port our SSB server accepts connections on: what we announce. */
  port: number
  /** The IP to announce; default: our address on whichever network each beacon goes to. */
  host?: string
  /** ssb-local's plain-text beacon on UDP 8008; default on. */
  legacy?: boolean | UdpChannelOptions
  /** ssb-lan's encrypted, signed beacon on UDP 26830; default on. */
  encrypted?: boolean | UdpChannelOptions
  /** mDNS/DNS-SD `_ssb._tcp`; default on. */
  mdns?: boolean | MdnsOptions
  /** IPv4 addresses to send beacons to; default: the broadcast address of every interface. */
  broadcast?: readonly string[]
  /** Address the UDP sockets bind to; default 0.0.0.0, which broadcasts need. */
  bind?: string
  /** Milliseconds between beacons; default 2000, as ssb-lan. */
  interval?: number
  /** A peer heard again through the same source within this many ms is not re-emitted; default 10000. */
  dedupeWindow?: number
}

export interface LanDiscoveryEvents {
  peer: [DiscoveredPeer]
  /** Something went wrong that discovery carries on through (a send failed, a socket hiccup). */
  warning: [Error]
}

export const DEFAULT_DEDUPE_WINDOW = 10_000
// Bounds the de-duplication memory: a flood of distinct valid beacons (random keys are
// free to make) must not grow it without limit. The oldest entries go first.
const MAX_REMEMBERED = 4096

interface UdpChannel {
  readonly source: 'legacy' | 'encrypted'
  readonly port: number
  readonly sendPort: number | undefined
  socket: Socket | null
}

function channelOptions(value: boolean | UdpChannelOptions | undefined): UdpChannelOptions | null {
  if (value === false) return null
  return value === true || value === undefined ? {} : value
}

function checkPort(name: string, port: unknown, allowZero: boolean): void {
  if (!Number.isInteger(port) || (port as number) < (allowZero ? 0 : 1) || (port as number) > 65535) {
    throw new DiscoveryOptionsError(`${name} must be an integer port${allowZero ? ' (0 to pick one)' : ''}, not ${String(port)}`)
  }
}

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

/**
 * Finds SSB peers on the local network and announces us to them: ssb-lan's two UDP
 * beacons and an mDNS service. Emits 'peer' for every other peer it hears of (never for
 * our own key, at most once per source and address per `dedupeWindow`), and silently drops
 * every packet it cannot use, since anyone on the LAN can send anything.
 */
export class LanDiscovery extends EventEmitter<LanDiscoveryEvents> {
  readonly identity: Identity
  private readonly caps: Buffer
  private readonly port: number
  private readonly host: string | undefined
  private readonly broadcast: readonly string[] | undefined
  private readonly bindAddress: string
  private readonly interval: number
  private readonly dedupeWindow: number
  private readonly udp: UdpChannel[]
  private readonly mdnsOptions: MdnsOptions | null
  private mdns: MdnsChannel | null = null
  private timer: NodeJS.Timeout | null = null
  private starting: Promise<void> | null = null
  private stopping: Promise<void> | null = null
  private readonly seen = new Map<string, number>()
  // Beacons for each announced host, made once: the encrypted one costs a signature.
  private readonly packets = new Map<string, { legacy: Buffer; encrypted: Buffer }>()

  constructor(options: LanDiscoveryOptions) {
    super()
    if (!options || !isFeedId(options.identity?.id)) throw new DiscoveryOptionsError('identity must be an Identity from @hearsay/keys')
    checkPort('port', options.port, false)
    if (options.host !== undefined && !parseLanAddress(formatNetShsAddress(options.host, options.port, options.identity.id))) {
      throw new DiscoveryOptionsError(`host must be an IP address peers can dial, not ${JSON.stringify(options.host)}`)
    }
    for (const address of options.broadcast ?? []) {
      if (!isIPv4(address)) throw new DiscoveryOptionsError(`broadcast addresses must be IPv4, not ${JSON.stringify(address)}`)
    }
    const interval = options.interval ?? BEACON_INTERVAL
    const dedupeWindow = options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW
    if (!(interval > 0 && interval < 2 ** 31)) throw new DiscoveryOptionsError(`interval must be a positive number of ms, not ${interval}`)
    if (!(dedupeWindow >= 0 && Number.isFinite(dedupeWindow))) throw new DiscoveryOptionsError(`dedupeWindow must be ≥ 0 ms, not ${dedupeWindow}`)

    this.identity = options.identity
    this.caps = decodeCaps(options.caps)
    this.port = options.port
    this.host = options.host
    this.broadcast = options.broadcast
    this.bindAddress = options.bind ?? '0.0.0.0'
    this.interval = interval
    this.dedupeWindow = dedupeWindow

    this.udp = []
    const channels = [
      ['legacy', channelOptions(options.legacy), LEGACY_PORT],
      ['encrypted', channelOptions(options.encrypted), ENCRYPTED_PORT],
    ] as const
    for (const [source, channel, defaultPort] of channels) {
      if (!channel) continue
      const port = channel.port ?? defaultPort
      checkPort(`${source}.port`, port, true)
      if (channel.sendPort !== undefined) checkPort(`${source}.sendPort`, channel.sendPort, false)
      this.udp.push({ source, port, sendPort: channel.sendPort, socket: null })
    }
    this.mdnsOptions = options.mdns === false ? null : options.mdns === true || options.mdns === undefined ? {} : options.mdns
  }

  /** The UDP ports actually bound (useful when configured as 0), once started. */
  get boundPorts(): { legacy?: number; encrypted?: number } {
    const ports: { legacy?: number; encrypted?: number } = {}
    for (const channel of this.udp) if (channel.socket) ports[channel.source] = channel.socket.address().port
    return ports
  }

  /**
   * Opens the sockets, sends the first beacons and keeps sending every `interval`.
   * Resolves once everything enabled is listening; if anything fails to bind, closes the
   * rest and rejects with that error.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('LanDiscovery is stopping; await stop() before starting again'))
    this.starting ??= this.open().catch(async (error: unknown) => {
      await this.close()
      this.starting = null
      throw error
    })
    return this.starting
  }

  /** Sends goodbyes (mDNS), closes every socket and stops the timer. Safe to call twice. */
  stop(): Promise<void> {
    if (!this.starting) return this.stopping ?? Promise.resolve()
    this.stopping ??= this.starting
      .catch(() => {})
      .then(() => this.close())
      .finally(() => {
        this.starting = null
        this.stopping = null
      })
    return this.stopping
  }

  /** Sends one round of beacons now; the timer calls this every `interval`. */
  announce(): void {
    const targets: BroadcastTarget[] = this.broadcast
      ? this.broadcast.flatMap((address) => {
          const host = this.host ?? hostFacing(address)
          return host ? [{ address, host }] : []
        })
      : defaultBroadcastTargets().map((target) => (this.host ? { ...target, host: this.host } : target))
    for (const target of targets) {
      const packets = this.packetsFor(target.host)
      for (const channel of this.udp) {
        const socket = channel.socket
        if (!socket) continue
        const packet = channel.source === 'legacy' ? packets.legacy : packets.encrypted
        socket.send(packet, channel.sendPort ?? socket.address().port, target.address, (error) => {
          if (error) this.emit('warning', error)
        })
      }
    }
  }

  private packetsFor(host: string): { legacy: Buffer; encrypted: Buffer } {
    let packets = this.packets.get(host)
    if (!packets) {
      const address = formatNetShsAddress(host, this.port, this.identity.id)
      packets = { legacy: encodeLegacyBeacon(address), encrypted: encodeEncryptedBeacon(address, this.identity, this.caps) }
      this.packets.set(host, packets)
    }
    return packets
  }

  private async open(): Promise<void> {
    for (const channel of this.udp) {
      const socket = createSocket({ type: 'udp4', reuseAddr: true })
      channel.socket = socket
      await bindSocket(socket, channel.port, this.bindAddress)
      socket.setBroadcast(true)
      socket.on('error', (error) => this.emit('warning', error))
      socket.on('message', (packet, from) => this.receive(channel.source, packet, from))
    }

    if (this.mdnsOptions) {
      const mdnsHost = this.host ?? hostFacing(this.mdnsOptions.interface ?? '')
      const mdns = new MdnsChannel({
        options: this.mdnsOptions,
        announce: mdnsHost
          ? { address: formatNetShsAddress(mdnsHost, this.port, this.identity.id), key: this.identity.id, port: this.port }
          : null,
        onService: (service) => this.receiveService(service),
        onWarning: (error) => this.emit('warning', error),
      })
      this.mdns = mdns
      await mdns.start()
    }

    if (this.udp.length > 0) {
      this.announce()
      this.timer = setInterval(() => this.announce(), this.interval)
    }
  }

  private async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    const closing: Promise<void>[] = []
    for (const channel of this.udp) {
      const socket = channel.socket
      channel.socket = null
      if (!socket) continue
      closing.push(
        new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve())
          } catch {
            resolve() // never bound, or already closed
          }
        }),
      )
    }
    const mdns = this.mdns
    this.mdns = null
    if (mdns) closing.push(mdns.stop())
    await Promise.all(closing)
    this.seen.clear()
  }

  private receive(source: 'legacy' | 'encrypted', packet: Buffer, from: RemoteInfo): void {
    if (packet.length > MAX_BEACON_BYTES) return
    const parsed = source === 'legacy' ? parseLegacyBeacon(packet) : parseEncryptedBeacon(packet, this.caps)
    if (parsed) this.found(parsed, source, { address: from.address, port: from.port })
  }

  private receiveService(service: Service): void {
    const parsed = parseMdnsService(service)
    const referer = service.referer
    if (parsed) this.found(parsed, 'mdns', { address: referer?.address ?? '', port: referer?.port ?? 0 })
  }

  private found(peer: NetShsAddress, source: PeerSource, from: DiscoveredPeer['from']): void {
    if (peer.key === this.identity.id) return
    const now = Date.now()
    const id = `${source} ${peer.address}`
    const last = this.seen.get(id)
    if (last !== undefined && now - last < this.dedupeWindow) return
    this.seen.delete(id) // re-inserted below, so the map stays in order of last emission
    this.seen.set(id, now)
    for (const [oldest, at] of this.seen) {
      if (this.seen.size <= MAX_REMEMBERED && now - at < this.dedupeWindow) break
      this.seen.delete(oldest)
    }
    this.emit('peer', { address: peer.address, key: peer.key, host: peer.host, port: peer.port, source, from })
  }
}

export function createLanDiscovery(options: LanDiscoveryOptions): LanDiscovery {
  return new LanDiscovery(options)
}
