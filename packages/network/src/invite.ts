// Invites as ssb-invite makes and takes them, so codes cross between Hearsay and ssb-server:
// a code `host:port:@key.ed25519~seed` names a pub and a 32-byte seed; the ed25519 key pair
// grown from the seed is a guest key the pub lets in for one call only, `invite.use({feed})`,
// which makes the pub follow `feed`. The newcomer then follows the pub and announces it.
import { randomBytes } from 'node:crypto'
import createMuxrpc from 'muxrpc'
import pull from 'pull-stream'
import { decodeCanonicalBase64, formatNetShsAddress, generateIdentity, isFeedId, type FeedId, type Identity } from '@hearsay/keys'
import { isFollowing, type LocalState, type Store } from '@hearsay/store'
import { asyncMethod } from './api.ts'
import { boundedCodec } from './codec.ts'
import { messageOf } from './events.ts'
import { formatMessage } from './streams.ts'
import { Transport } from './transport.ts'

export type InviteErrorCode =
  | 'EINVITE_MALFORMED'
  | 'EINVITE_NO_ADDRESS'
  | 'EINVITE_BAD_ARGUMENT'
  | 'EINVITE_USED_UP'
  | 'EINVITE_ALREADY_FOLLOWING'
  | 'EINVITE_UNREACHABLE'
  | 'EINVITE_REFUSED'

export class InviteError extends Error {
  override readonly name = 'InviteError'
  constructor(readonly code: InviteErrorCode, message: string) {
    super(message)
  }
}

/** An invite code's parts. */
export interface ParsedInvite {
  host: string
  port: number
  /** The pub's feed id. */
  key: FeedId
  /** The guest key's seed. */
  seed: Buffer
  /** The pub's `net:HOST:PORT~shs:KEY` address. */
  address: string
}

/** What the pub keeps per code, under the guest key's id (ssb-invite's fields). */
export interface InviteRecord {
  id: FeedId
  total: number
  used: number
  note?: string
  /** Milliseconds since the epoch. */
  createdAt: number
}

// A host never holds ';', which separates multiserver addresses: the pub's address must dial.
const LEGACY_INVITE = /^([^\s:~;]+):(\d{1,5}):(@[A-Za-z0-9+/]{43}=\.ed25519)~([A-Za-z0-9+/]{43}=)$/
const MULTISERVER_INVITE = /^net:([^\s:~;]+):(\d{1,5})~shs:([A-Za-z0-9+/]{43}=):([A-Za-z0-9+/]{43}=)$/
/** The longest code looked at: a real one is under 150 characters. */
const MAX_CODE_LENGTH = 1_000
/** Most uses one code may be given (ssb-invite has no bound; a pub operator's typo should not be forever). */
export const MAX_INVITE_USES = 10_000
export const MAX_INVITE_NOTE_LENGTH = 1_000
/** How long redeeming may take, handshake to answer. */
const REDEEM_TIMEOUT = 30_000

/**
 * Reads a code in ssb-invite's legacy form `host:port:@key.ed25519~seed` (what `invite.create`
 * prints) or its multiserver form `net:host:port~shs:key:seed`; surrounding whitespace and
 * quotes are dropped, as ssb-invite drops quotes.
 */
export function parseInviteCode(code: unknown): ParsedInvite {
  if (typeof code !== 'string') throw new InviteError('EINVITE_MALFORMED', 'an invite code is text like host:port:@key.ed25519~seed')
  let text = code.trim()
  if (text.length > MAX_CODE_LENGTH) throw new InviteError('EINVITE_MALFORMED', `that is far longer than any invite code (${text.length} characters)`)
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1)
  const legacy = LEGACY_INVITE.exec(text)
  const multiserver = legacy ? null : MULTISERVER_INVITE.exec(text)
  const match = legacy ?? multiserver
  if (!match) throw new InviteError('EINVITE_MALFORMED', `not an invite code (host:port:@key.ed25519~seed): ${JSON.stringify(text.slice(0, 120))}`)
  const [, host, portText, keyText, seedText] = match as unknown as [string, string, string, string, string]
  const port = Number(portText)
  if (port < 1 || port > 65535) throw new InviteError('EINVITE_MALFORMED', `the invite code's port ${portText} is not a port`)
  const key = legacy ? keyText : `@${keyText}.ed25519`
  const keyBytes = decodeCanonicalBase64(key.slice(1, -'.ed25519'.length), 32)
  const seed = decodeCanonicalBase64(seedText, 32)
  if (!isFeedId(key) || keyBytes === null) throw new InviteError('EINVITE_MALFORMED', 'the invite code\'s pub key is not an ed25519 key')
  if (seed === null) throw new InviteError('EINVITE_MALFORMED', 'the invite code\'s seed is not 32 bytes of base64')
  return { host, port, key, seed, address: formatNetShsAddress(host, port, key) }
}

/** ssb-invite's legacy code, which every SSB app accepts. */
export function formatInviteCode(host: string, port: number, key: FeedId, seed: Uint8Array): string {
  return `${host}:${port}:${key}~${Buffer.from(seed).toString('base64')}`
}

/** Keys let in for one narrow purpose: they get only `manifest`'s methods, under namespace `name`. */
export interface GuestAccess {
  name: string
  manifest: Record<string, 'async' | 'sync' | 'source' | 'sink' | 'duplex'>
  /**
   * Whether `remote`, a key that is not ours, comes in as this kind of guest (true), is a guest
   * key no longer welcome and refused outright (false), or is none of this access's (null).
   */
  admits(remote: FeedId): Promise<boolean | null>
  /** The namespace's handlers for one guest connection. */
  handlers(remote: FeedId): Record<string, unknown>
}

export interface InvitesOptions {
  store: Store
  identity: Identity
  /** Where codes are kept (the store's local state `invites`). */
  state: LocalState
  /** Where we listen now, or null when we do not. */
  listening(): { host: string; port: number } | null
  /** The public host name to put in codes when the listening host is not one. */
  external?: string
}

export interface CreateInviteOptions {
  uses?: number
  note?: string
  /** The host name to put in the code, over the peer's own. */
  external?: string
}

/**
 * The pub's half: makes codes, keeps them in local state, admits their guest keys until used up,
 * and answers `invite.use` by following the newcomer.
 */
export class Invites {
  private readonly options: InvitesOptions
  /** Uses of one code are counted one after another, so parallel guests cannot overspend it. */
  private using: Promise<unknown> = Promise.resolve()

  constructor(options: InvitesOptions) {
    this.options = options
  }

  /** What guest keys may call: ssb-invite's `invite.use` alone. */
  readonly guestAccess: GuestAccess = {
    name: 'invite',
    manifest: { use: 'async' },
    admits: async (remote) => {
      const record = await this.record(remote)
      // A spent code's key is refused, not let in as an ordinary peer.
      return record === null ? null : record.used < record.total
    },
    handlers: (remote) => ({ use: asyncMethod(async (request) => this.use(remote, request)) }),
  }

  /** A new code for `uses` newcomers (default 1), printed with our public host. */
  async create(options: CreateInviteOptions = {}): Promise<string> {
    const uses = options.uses ?? 1
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_INVITE_USES) {
      throw new InviteError('EINVITE_BAD_ARGUMENT', `uses must be a whole number from 1 to ${MAX_INVITE_USES}, not ${JSON.stringify(options.uses)}`)
    }
    if (options.note !== undefined && (typeof options.note !== 'string' || options.note.length > MAX_INVITE_NOTE_LENGTH)) {
      throw new InviteError('EINVITE_BAD_ARGUMENT', `note must be text of at most ${MAX_INVITE_NOTE_LENGTH} characters`)
    }
    const external = options.external ?? this.options.external
    if (external !== undefined && !isHostName(external)) {
      throw new InviteError('EINVITE_BAD_ARGUMENT', `external must be a host name or IP address, not ${JSON.stringify(external).slice(0, 80)}`)
    }
    const listening = this.options.listening()
    if (listening === null) throw new InviteError('EINVITE_NO_ADDRESS', 'this peer does not listen for connections, so nobody could use an invite to it')
    const host = external ?? listening.host
    if (external === undefined && !isPublicHost(host)) {
      throw new InviteError(
        'EINVITE_NO_ADDRESS',
        `this peer listens on ${host}, which others cannot reach: start it with --external HOST (its public name or address), or give --external to invite.create`,
      )
    }
    const seed = randomBytes(32)
    const guest = generateIdentity(seed)
    const record: InviteRecord = { id: guest.id, total: uses, used: 0, createdAt: Date.now(), ...(options.note ? { note: options.note } : {}) }
    await this.options.state.put(guest.id, record)
    return formatInviteCode(host, listening.port, this.options.identity.id, seed)
  }

  /** Every code made here, used up or not. */
  async list(): Promise<InviteRecord[]> {
    const records: InviteRecord[] = []
    for (const [key, value] of await this.options.state.list()) {
      const record = recordOf(key, value)
      if (record) records.push(record)
    }
    return records
  }

  private async record(guest: FeedId): Promise<InviteRecord | null> {
    return recordOf(guest, await this.options.state.get(guest))
  }

  /** ssb-invite's `use`: counts the use, then follows `feed` with a `pub: true` contact. */
  private use(guest: FeedId, request: unknown): Promise<unknown> {
    const run = this.using.then(async () => {
      const feed = (request as { feed?: unknown } | null)?.feed
      if (!isFeedId(feed)) throw new InviteError('EINVITE_BAD_ARGUMENT', 'invite.use takes {feed}: the newcomer\'s feed id')
      const { store, identity } = this.options
      const record = await this.record(guest)
      if (record === null || record.used >= record.total) throw new InviteError('EINVITE_USED_UP', 'invite has expired')
      if (await isFollowing(store, identity.id, feed)) throw new InviteError('EINVITE_ALREADY_FOLLOWING', 'already following')
      await this.options.state.put(guest, { ...record, used: record.used + 1 })
      const message = await store.publish(identity, { type: 'contact', contact: feed, following: true, pub: true, ...(record.note ? { note: record.note } : {}) })
      return formatMessage(message, true, true)
    })
    this.using = run.catch(() => undefined)
    return run
  }
}

function recordOf(key: string, value: unknown): InviteRecord | null {
  if (value === null || typeof value !== 'object') return null
  const { id, total, used } = value as Partial<InviteRecord>
  if (id !== key || !Number.isInteger(total) || !Number.isInteger(used)) return null
  return value as InviteRecord
}

/** A DNS name or an IPv4 address: what fits the host part of a legacy code (no colons). */
function isHostName(host: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)
}

/** Whether others could reach `host`: not loopback, unspecified, link-local or a private range. */
export function isPublicHost(host: string): boolean {
  if (host === 'localhost' || host === '' || host === '::' || host === '::1' || host.includes(':')) return false
  const octets = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)?.slice(1).map(Number)
  if (!octets) return isHostName(host)
  const [a, b] = octets as [number, number, number, number]
  return !(a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
}

export interface RedeemOptions {
  code: string
  /** The newcomer: who the pub follows, and who follows the pub. */
  identity: Identity
  store: Store
  caps?: string | Uint8Array
}

export interface Redeemed {
  pub: FeedId
  /** The pub's address, to remember and dial. */
  address: string
  /** The pub's answer: its contact message following us. */
  followed: unknown
}

/**
 * The newcomer's half, as ssb-invite's `accept`: connects to the pub with the guest key from
 * the code's seed, asks it to follow us, then publishes our follow of the pub and its `pub`
 * announcement.
 */
export async function redeemInvite({ code, identity, store, caps }: RedeemOptions): Promise<Redeemed> {
  const invite = parseInviteCode(code)
  if (invite.key === identity.id) throw new InviteError('EINVITE_BAD_ARGUMENT', 'this invite is to ourselves')
  const transport = new Transport({ identity: generateIdentity(invite.seed), ...(caps !== undefined ? { caps } : {}) })
  let timer: NodeJS.Timeout | undefined
  try {
    const followed = await Promise.race([
      callUse(transport, invite, identity.id),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InviteError('EINVITE_UNREACHABLE', `the pub at ${invite.host}:${invite.port} did not answer within ${REDEEM_TIMEOUT / 1000} s`)), REDEEM_TIMEOUT)
      }),
    ])
    await store.publish(identity, { type: 'contact', following: true, autofollow: true, contact: invite.key })
    await store.publish(identity, { type: 'pub', address: { host: invite.host, port: invite.port, key: invite.key } })
    return { pub: invite.key, address: invite.address, followed }
  } finally {
    clearTimeout(timer)
    await transport.close()
  }
}

async function callUse(transport: Transport, invite: ParsedInvite, feed: FeedId): Promise<unknown> {
  let connection
  try {
    connection = await transport.connect(invite.address)
  } catch (err) {
    // Hanging up on our hello is how a pub (ours) refuses a spent code's key.
    if (/server hung up when we sent hello/.test(messageOf(err))) throw new InviteError('EINVITE_USED_UP', NOT_ACCEPTED)
    throw new InviteError('EINVITE_UNREACHABLE', `could not connect to the pub at ${invite.host}:${invite.port}: ${messageOf(err)}`)
  }
  const rpc = createMuxrpc({ invite: { use: 'async' } }, {}, {}, { allow: [] }, boundedCodec())
  pull(connection.stream, rpc.stream, connection.stream)
  try {
    return await new Promise((resolve, reject) => {
      const use = (rpc.invite as { use(request: object, cb: (err: Error | null, value: unknown) => void): void }).use
      use({ feed }, (err, value) => {
        if (!err) return resolve(value)
        // A key the pub has no (unspent) invite for is let in as any peer would be (ssb-server does
        // so for spent ones too), and may not call invite.use.
        if (/not in list of allowed methods/.test(err.message)) reject(new InviteError('EINVITE_USED_UP', NOT_ACCEPTED))
        else reject(new InviteError('EINVITE_REFUSED', `the pub did not accept the invite: ${err.message}`))
      })
    })
  } finally {
    rpc.close(new Error('invite used'), () => {})
    connection.destroy()
  }
}

const NOT_ACCEPTED = 'the pub does not accept this invite code: it is used up, or the pub never made it'
