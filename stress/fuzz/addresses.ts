// Targets 5 and 6: what people paste and peers announce — multiserver addresses (net and tunnel)
// and invite codes. Real ones, damaged ones and noise: each parses, or fails with its own clear
// error, and whatever parses round-trips through its formatter to the same thing.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { formatNetShsAddress, isFeedId, toFeedId, type FeedId } from '@hearsay/keys'
import {
  InviteError, formatInviteCode, formatTunnelAddress, parseAddress, parseInviteCode, parsePeerAddress, parseTunnelAddress,
} from '@hearsay/network'
import { awkwardText } from './message.ts'
import { Tally, checkProperty, describeThrown, violation, type FuzzTarget } from './property.ts'

const feedId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => toFeedId(bytes))
const keyBase64 = (id: FeedId) => id.slice(1, -'.ed25519'.length)
const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.constantFrom('localhost', '127.0.0.1', '::1', 'a'), awkwardText)
const port = fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom(0, 65_536, 8008, -1))

type Damage = { kind: 'none' } | { kind: 'char'; at: number; text: string } | { kind: 'delete'; at: number } | { kind: 'wrap'; before: string; after: string }
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('char' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(':', '~', ';', ' ', '=', '@', '"', '.', '0', 'shs:', 'net:', '\n'), awkwardText) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), before: fc.constantFrom('', ' ', '"', ';', 'ws://x:1~noauth;'), after: fc.constantFrom('', ' ', '"', ';', ';net:h:1~shs:x', '\n') }) },
)

function damaged(text: string, change: Damage): string {
  switch (change.kind) {
    case 'none':
      return text
    case 'char': {
      const at = change.at % (text.length + 1)
      return text.slice(0, at) + change.text + text.slice(at + 1)
    }
    case 'delete': {
      const at = change.at % Math.max(1, text.length)
      return text.slice(0, at) + text.slice(at + 1)
    }
    case 'wrap':
      return change.before + text + change.after
  }
}

/** Runs `parse`, turning a throw other than the expected error class into a violation. */
function parseOrRefuse<T>(what: string, parse: () => T, expected: (thrown: unknown) => boolean): T | null {
  try {
    return parse()
  } catch (thrown) {
    if (!expected(thrown)) violation(`${what} threw ${describeThrown(thrown)}`)
    const message = (thrown as Error).message
    if (message === '' || message.includes('\n') || message.length > 400) violation(`${what}'s error is not one clear line: ${JSON.stringify(message.slice(0, 100))}`)
    return null
  }
}

type AddressInput =
  | { kind: 'net'; host: string; port: number; key: FeedId; damage: Damage }
  | { kind: 'tunnel'; portal: FeedId; target: FeedId; withShs: boolean; damage: Damage }
  | { kind: 'random'; text: string }

export const multiserverAddresses: FuzzTarget = {
  name: 'fuzz: multiserver address parsing',
  quickRuns: 2_000,
  async run(runs, seed) {
    const tally = new Tally()
    const input: fc.Arbitrary<AddressInput> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('net' as const), host, port, key: feedId, damage }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('tunnel' as const), portal: feedId, target: feedId, withShs: fc.boolean(), damage }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('random' as const), text: fc.oneof(awkwardText, fc.string({ maxLength: 200 })) }) },
    )
    const isRangeError = (thrown: unknown) => thrown instanceof RangeError
    const property = fc.property(input, (item) => {
      tally.tried++
      const text =
        item.kind === 'net' ? damaged(`net:${item.host}:${item.port}~shs:${keyBase64(item.key)}`, item.damage)
        : item.kind === 'tunnel' ? damaged(item.withShs ? formatTunnelAddress(item.portal, item.target) : `tunnel:${item.portal}:${item.target}`, item.damage)
        : item.text
      const net = parseOrRefuse('parseAddress', () => parseAddress(text), isRangeError)
      const peer = parseOrRefuse('parsePeerAddress', () => parsePeerAddress(text), isRangeError)
      const tunnel = parseOrRefuse('parseTunnelAddress', () => parseTunnelAddress(text), () => false)
      if (net) {
        if (!Number.isInteger(net.port) || net.port < 1 || net.port > 65_535) violation(`parsed port ${net.port} is not a port`)
        if (!isFeedId(net.key)) violation(`parsed key ${net.key} is not a feed id`)
        if (formatNetShsAddress(net.host, net.port, net.key) !== net.address) violation(`${net.address} is not how its parts format`)
        if (!isDeepStrictEqual(parseAddress(net.address), net)) violation(`${JSON.stringify(net.address)} does not parse back to itself`)
        if (peer?.address !== net.address || peer.key !== net.key) violation('parsePeerAddress disagrees with parseAddress on a net address')
      }
      if (tunnel) {
        if (tunnel.address !== formatTunnelAddress(tunnel.portal, tunnel.key)) violation(`${tunnel.address} is not how its parts format`)
        if (!isDeepStrictEqual(parseTunnelAddress(tunnel.address), tunnel)) violation(`${tunnel.address} does not parse back to itself`)
        if (!net && (peer?.address !== tunnel.address || peer.key !== tunnel.key)) violation('parsePeerAddress disagrees with parseTunnelAddress')
      }
      if (!net && !tunnel && peer) violation(`parsePeerAddress accepted ${JSON.stringify(text)}, which neither parser accepts`)
      if (item.kind !== 'random' && item.damage.kind === 'none') {
        if (item.kind === 'net') {
          const valid = item.port >= 1 && item.port <= 65_535 && item.host !== '' && !/[;~\s]/.test(item.host)
          if (valid && (net?.host !== item.host || net.port !== item.port || net.key !== item.key)) violation(`a valid net address did not parse to its parts: ${JSON.stringify(text)}`)
        } else if (item.portal !== item.target && (tunnel?.portal !== item.portal || tunnel.key !== item.target)) {
          violation(`a valid tunnel address did not parse to its parts: ${text}`)
        }
      }
      tally.count(net ?? tunnel ? 'parsed' : 'refused')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: tally.percentages('parsed') }
  },
}

type InviteInput =
  | { kind: 'legacy'; host: string; port: number; key: FeedId; seed: Uint8Array; damage: Damage }
  | { kind: 'multiserver'; host: string; port: number; key: FeedId; seed: Uint8Array; damage: Damage }
  | { kind: 'random'; text: unknown }

export const inviteCodes: FuzzTarget = {
  name: 'fuzz: invite code parsing',
  quickRuns: 2_000,
  async run(runs, seed) {
    const tally = new Tally()
    const seedBytes = fc.uint8Array({ minLength: 32, maxLength: 32 })
    const input: fc.Arbitrary<InviteInput> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('legacy' as const), host, port, key: feedId, seed: seedBytes, damage }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('multiserver' as const), host, port, key: feedId, seed: seedBytes, damage }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('random' as const), text: fc.oneof(awkwardText, fc.string({ maxLength: 1200 }), fc.anything()) }) },
    )
    const isInviteError = (thrown: unknown) => thrown instanceof InviteError && thrown.code === 'EINVITE_MALFORMED'
    const property = fc.property(input, (item) => {
      tally.tried++
      const text =
        item.kind === 'legacy' ? damaged(formatInviteCode(item.host, item.port, item.key, item.seed), item.damage)
        : item.kind === 'multiserver' ? damaged(`net:${item.host}:${item.port}~shs:${keyBase64(item.key)}:${Buffer.from(item.seed).toString('base64')}`, item.damage)
        : item.text
      const parsed = parseOrRefuse('parseInviteCode', () => parseInviteCode(text), isInviteError)
      if (parsed) {
        if (!Number.isInteger(parsed.port) || parsed.port < 1 || parsed.port > 65_535) violation(`parsed port ${parsed.port} is not a port`)
        if (!isFeedId(parsed.key)) violation(`parsed key ${parsed.key} is not a feed id`)
        if (parsed.seed.length !== 32) violation(`parsed seed is ${parsed.seed.length} bytes`)
        if (parsed.address !== formatNetShsAddress(parsed.host, parsed.port, parsed.key)) violation(`the pub address ${parsed.address} is not its parts'`)
        const again = parseInviteCode(formatInviteCode(parsed.host, parsed.port, parsed.key, parsed.seed))
        if (!isDeepStrictEqual(again, parsed)) violation('a parsed code does not round-trip through formatInviteCode')
        if (parseAddress(parsed.address).address !== parsed.address) violation(`the pub address ${parsed.address} is not a dialable address`)
      }
      if (item.kind !== 'random' && item.damage.kind === 'none') {
        const valid = item.port >= 1 && item.port <= 65_535 && /^[^\s:~]+$/.test(item.host)
        if (valid && (parsed?.host !== item.host || parsed.port !== item.port || parsed.key !== item.key || !parsed.seed.equals(item.seed))) {
          violation(`a valid code did not parse to its parts: ${JSON.stringify(text)}`)
        }
      }
      tally.count(parsed ? 'parsed' : 'refused')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: tally.percentages('parsed') }
  },
}
