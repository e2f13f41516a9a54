// Announcing and browsing an SSB service over mDNS/DNS-SD. ssb-lan has no mDNS, so this
// format is ours: service `_ssb._tcp`, instance name from the feed's key, and a TXT record
// with `key=@….ed25519` and `address=net:IP:PORT~shs:KEY`. The TXT record is what peers
// act on; SRV and A records are published for generic DNS-SD browsers.
import type { EventEmitter } from 'node:events'
import { Bonjour, type Browser, type Service } from 'bonjour-service'
import { feedPublicKey, isFeedId, type FeedId, type NetShsAddress } from '@hearsay/keys'
import { parseLanAddress } from './address.ts'

/** DNS-SD service type, announced as `_ssb._tcp.local`. */
export const MDNS_SERVICE_TYPE = 'ssb'

export interface MdnsOptions {
  /** IPv4 address of the interface to multicast on; default: every interface. */
  interface?: string
  /** UDP port; default 5353, the mDNS port. Tests use a free one. */
  port?: number
  /**
   * Address the socket binds to; default 0.0.0.0. Not the interface address: on Linux a
   * socket bound to a unicast address never receives multicast, so binding to the
   * interface (multicast-dns' own default when `interface` is set) would hear nothing.
   */
  bind?: string
  /** Service type without `_` and protocol; default `ssb`. */
  type?: string
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * The DNS-SD instance name for a feed: its 32-byte key in lowercase base32, 52 characters
 * (labels may be 63). Not base64: DNS compares names case-insensitively, so two keys that
 * differ only in case would collide.
 */
export function mdnsInstanceName(key: FeedId): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of feedPublicKey(key)) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** The TXT record we publish: the feed id and the address to dial it at. */
export function mdnsTxt(address: string, key: FeedId): { key: FeedId; address: string } {
  return { key, address }
}

/**
 * The address a browsed service announces, or null. Its TXT `address` must parse and name
 * the same key as its TXT `key`; anything else (other `_ssb._tcp` software, junk) is
 * ignored. Reads only own properties: the TXT object is built from a stranger's packet.
 */
export function parseMdnsService(service: { txt?: unknown }): NetShsAddress | null {
  const txt = service.txt
  if (typeof txt !== 'object' || txt === null) return null
  const key = Object.hasOwn(txt, 'key') ? (txt as Record<string, unknown>).key : undefined
  const address = Object.hasOwn(txt, 'address') ? (txt as Record<string, unknown>).address : undefined
  if (!isFeedId(key) || typeof address !== 'string' || address.length > 255) return null
  const parsed = parseLanAddress(address)
  return parsed && parsed.key === key ? parsed : null
}

export interface MdnsChannelOptions {
  options: MdnsOptions
  /** What to publish; null to browse without announcing (no address to offer). */
  announce: { address: string; key: FeedId; port: number } | null
  onService(service: Service): void
  onWarning(error: Error): void
}

// bonjour-service keeps its multicast-dns instance private, yet that instance is what
// reports bind failures ('error', which throws if nobody listens) and readiness.
interface MulticastDns extends EventEmitter {
  destroy(callback?: () => void): void
}

/** One bonjour-service instance: publishes our service and browses for others'. */
export class MdnsChannel {
  private bonjour: Bonjour | null = null
  private browser: Browser | null = null

  constructor(private readonly config: MdnsChannelOptions) {}

  async start(): Promise<void> {
    const { options, announce, onService, onWarning } = this.config
    // bonjour-service hands these straight to multicast-dns, though its typings say
    // otherwise (they name the fields of a published service).
    const socketOptions = {
      ...(options.interface !== undefined && { interface: options.interface }),
      ...(options.port !== undefined && { port: options.port }),
      bind: options.bind ?? '0.0.0.0',
    }
    const bonjour = new Bonjour(
      socketOptions as ConstructorParameters<typeof Bonjour>[0],
      // Without this callback bonjour-service throws send errors (e.g. the network went
      // away) from inside a socket callback, which would take the whole process down.
      (error: Error) => onWarning(error),
    )
    this.bonjour = bonjour
    const mdns = (bonjour as unknown as { server: { mdns: MulticastDns } }).server.mdns

    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        mdns.off('ready', onReady)
        reject(error)
      }
      const onReady = () => {
        mdns.off('error', onError)
        resolve()
      }
      mdns.once('error', onError)
      mdns.once('ready', onReady)
    }).catch(async (error: unknown) => {
      await this.stop().catch(() => {}) // the bind error is the one worth reporting
      throw error
    })
    mdns.on('error', onWarning)
    mdns.on('warning', onWarning)

    const type = options.type ?? MDNS_SERVICE_TYPE
    if (announce) {
      bonjour.publish({
        name: mdnsInstanceName(announce.key),
        type,
        protocol: 'tcp',
        port: announce.port,
        txt: mdnsTxt(announce.address, announce.key),
      })
    }
    const browser = bonjour.find({ type, protocol: 'tcp' })
    browser.on('up', onService)
    // A peer that moves (new address, same instance name) is announced again.
    browser.on('txt-update', onService)
    browser.on('srv-update', onService)
    this.browser = browser
  }

  async stop(): Promise<void> {
    const bonjour = this.bonjour
    this.bonjour = null
    this.browser?.stop()
    this.browser?.removeAllListeners()
    this.browser = null
    if (!bonjour) return
    // Goodbye packets (TTL 0) first, so browsers drop us now rather than when the TTL runs out.
    await new Promise<void>((resolve) => bonjour.unpublishAll(() => resolve()))
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()))
  }
}
