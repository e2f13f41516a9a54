// Target 1: the classic message validator, and the store's append path in front of it.
// Inputs are mostly real signed messages with one thing changed, since random JSON rarely gets
// past the first check; the oracle is that a signature covers the whole encoding, so a changed
// message may be accepted only when its encoding did not change at all.
import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import { isDeepStrictEqual } from 'node:util'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { generateIdentity, toFeedId, toMessageId, type FeedId, type Identity } from '@hearsay/keys'
import {
  MessageError, createMessage, encodeValue, validateMessage, verifyMessage,
  type Content, type FeedState, type MessageValue, type ValidMessage,
} from '@hearsay/message'
import { openStore, type Store } from '@hearsay/store'
import { Tally, checkProperty, describeThrown, seededBytes, violation, type FuzzTarget } from './property.ts'

// The network's reference validator (ssb-server's), asked about the same message and state.
const ssbValidate = createRequire(import.meta.url)('ssb-validate') as {
  checkInvalid(state: FeedState | null, hmacKey: null, msg: unknown): Error | false
}

/** Whether ssb-validate would take `value` after `state` (a throw is a refusal too). */
function referenceAccepts(state: FeedState | null, value: unknown): boolean {
  try {
    return ssbValidate.checkInvalid(state, null, value) === false
  } catch {
    return false
  }
}

const FIELDS = ['previous', 'author', 'sequence', 'timestamp', 'hash', 'content', 'signature'] as const
const ERROR_CODES = new Set([
  'EMSG_NOT_OBJECT', 'EMSG_KEY_ORDER', 'EMSG_AUTHOR', 'EMSG_SEQUENCE', 'EMSG_PREVIOUS', 'EMSG_FORK', 'EMSG_TIMESTAMP',
  'EMSG_HASH', 'EMSG_CONTENT', 'EMSG_TYPE', 'EMSG_TOO_LARGE', 'EMSG_SIGNATURE_FORMAT', 'EMSG_SIGNATURE', 'EMSG_HMAC_KEY',
])

/** Text that tends to break encoders: lone surrogates, line separators, quotes, NUL, astral. */
const awkwardUnit = fc.oneof(
  fc.constantFrom('\ud800', '\udfff', '\u2028', '\u2029', '\0', '"', '\\', '\n', '😀', 'é', '\u00ff', '\u0100', '\ufeff'),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
)
export const awkwardText = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: awkwardUnit, maxLength: 40 }))

const awkwardNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, 1e308, 5e-324, Infinity, -Infinity, Number.NaN, 1.5),
)

/** A replacement value of any JSON kind (and the few non-JSON numbers JSON.parse can still make). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  awkwardNumber,
  awkwardText,
  fc.jsonValue({ maxDepth: 3 }),
)

/** One change to a real message; data, so a counterexample prints readably. */
type Mutation =
  | { kind: 'none' }
  | { kind: 'drop'; field: string }
  | { kind: 'retype'; field: string; value: unknown }
  | { kind: 'reorder'; order: string[] }
  | { kind: 'extra'; field: string; value: unknown }
  | { kind: 'signature-char'; position: number; char: string }
  | { kind: 'signature-bit'; byte: number; bit: number }
  | { kind: 'sequence'; value: number }
  | { kind: 'previous'; value: string | null }
  | { kind: 'content-field'; field: string; value: unknown }
  | { kind: 'content-nesting'; depth: number }
  | { kind: 'wrong-state'; offset: number }

const fieldName = fc.constantFrom<string>(...FIELDS)
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fieldName.map((field) => ({ kind: 'drop' as const, field })),
  fc.record({ kind: fc.constant('retype' as const), field: fieldName, value: anyValue }),
  fc.shuffledSubarray([...FIELDS], { minLength: 7, maxLength: 7 }).map((order) => ({ kind: 'reorder' as const, order })),
  fc.record({ kind: fc.constant('extra' as const), field: fc.oneof(fc.constantFrom('key', 'value', '__proto__', 'constructor', 'signature2'), awkwardText), value: anyValue }),
  fc.record({ kind: fc.constant('signature-char' as const), position: fc.nat(99), char: fc.oneof(fc.constantFrom('A', '/', '+', '=', '.', '-', '_'), awkwardUnit) }),
  fc.record({ kind: fc.constant('signature-bit' as const), byte: fc.nat(63), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('sequence' as const), value: fc.oneof(awkwardNumber, fc.integer({ min: -2, max: 12 })) }),
  fc.record({ kind: fc.constant('previous' as const), value: fc.oneof(fc.constant(null), awkwardText, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => toMessageId(bytes))) }),
  fc.record({ kind: fc.constant('content-field' as const), field: fc.oneof(fc.constantFrom('type', 'text', 'root', 'mentions'), awkwardText), value: anyValue }),
  // Nesting deep enough to overflow a recursive encoder, as a JSON frame from a peer can be.
  fc.record({ kind: fc.constant('content-nesting' as const), depth: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 200 }) }, { weight: 1, arbitrary: fc.constantFrom(5_000, 100_000) }) }),
  fc.record({ kind: fc.constant('wrong-state' as const), offset: fc.integer({ min: -3, max: 3 }) }),
)

function nested(depth: number): unknown {
  let value: unknown = []
  for (let i = 1; i < depth; i++) value = [value]
  return value
}

/** `value` with `mutation` applied; a fresh object, the original is never touched. */
function mutate(value: MessageValue, change: Mutation): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value, content: typeof value.content === 'string' ? value.content : { ...value.content } }
  switch (change.kind) {
    case 'none':
    case 'wrong-state':
      return copy
    case 'drop':
      delete copy[change.field]
      return copy
    case 'retype':
      copy[change.field] = change.value
      return copy
    case 'reorder':
      return Object.fromEntries(change.order.map((field) => [field, copy[field]]))
    case 'extra':
      Object.defineProperty(copy, change.field, { value: change.value, enumerable: true, configurable: true, writable: true })
      return copy
    case 'signature-char': {
      const text = value.signature
      const at = change.position % text.length
      copy.signature = text.slice(0, at) + change.char + text.slice(at + 1)
      return copy
    }
    case 'signature-bit': {
      const bytes = Buffer.from(value.signature.slice(0, 88), 'base64')
      bytes[change.byte]! ^= 1 << change.bit
      copy.signature = `${bytes.toString('base64')}.sig.ed25519`
      return copy
    }
    case 'sequence':
      copy.sequence = change.value
      return copy
    case 'previous':
      copy.previous = change.value
      return copy
    case 'content-field':
      if (typeof copy.content === 'object' && copy.content !== null) {
        Object.defineProperty(copy.content, change.field, { value: change.value, enumerable: true, configurable: true, writable: true })
      } else copy.content = { [change.field]: change.value }
      return copy
    case 'content-nesting':
      copy.content = { ...(copy.content as object), nested: nested(change.depth) }
      return copy
  }
}

/**
 * Whether `mutated` is still `original`: the same values (NaN is not null, though JSON writes
 * it so) in the same encoding, byte for byte (key order included).
 */
function isUnchanged(mutated: Record<string, unknown>, change: Mutation, original: MessageValue): boolean {
  // Adding a field is never a no-op, and encoding deep nesting costs the square of its depth.
  if (change.kind === 'content-nesting') return false
  try {
    return isDeepStrictEqual(mutated, original) && encodeValue(mutated) === encodeValue(original)
  } catch {
    return false
  }
}

/** Contents a real author might sign: posts with awkward text, nested extras, box strings. */
const content: fc.Arbitrary<Content> = fc.oneof(
  fc.record({ type: fc.constantFrom('post', 'vote', 'contact', 'about'), text: awkwardText }),
  fc.record({ type: fc.string({ minLength: 3, maxLength: 52 }), extra: fc.jsonValue({ maxDepth: 4 }) }),
  fc.record({ type: fc.constant('post'), text: fc.string({ unit: 'binary', maxLength: 3000 }) }),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => `${Buffer.from(bytes).toString('base64')}.box`),
)

function stateOf(message: ValidMessage): FeedState {
  return { id: message.key, sequence: message.value.sequence, timestamp: message.value.timestamp }
}

/** A feed of real signed messages to mutate, grown on demand. */
class Feed {
  readonly messages: ValidMessage[] = []
  constructor(readonly identity: Identity, private readonly contents: Content[]) {}

  at(index: number): ValidMessage {
    while (this.messages.length <= index) {
      const previous = this.messages.at(-1)
      const body = this.contents[this.messages.length % this.contents.length]!
      this.messages.push(createMessage({ identity: this.identity, previous: previous ? stateOf(previous) : null, content: body, timestamp: 1_700_000_000_000 + this.messages.length }))
    }
    return this.messages[index]!
  }

  stateBefore(index: number): FeedState | null {
    return index === 0 ? null : stateOf(this.at(index - 1))
  }
}

/** Contents to build a feed from: those that fit at any place in it (previous set, long sequence). */
function sampleContents(seed: number, identity: Identity): Content[] {
  const deep: FeedState = { id: toMessageId(new Uint8Array(32)), sequence: 999_999, timestamp: 0 }
  return fc.sample(content, { seed, numRuns: 64 }).filter((body) => {
    try {
      createMessage({ identity, previous: deep, content: body, timestamp: 1_700_000_000_000 })
      return true
    } catch {
      return false
    }
  })
}

/** Throws a violation unless `thrown` is the validator's documented error. */
function expectMessageError(thrown: unknown, what: string): MessageError {
  if (!(thrown instanceof MessageError) || !ERROR_CODES.has(thrown.code) || thrown.message === '') {
    violation(`${what} threw ${describeThrown(thrown)} instead of a MessageError`)
  }
  return thrown
}

type Outcome = { accepted: ValidMessage } | { refused: MessageError }

function attempt(what: string, validate: () => ValidMessage): Outcome {
  try {
    return { accepted: validate() }
  } catch (thrown) {
    return { refused: expectMessageError(thrown, what) }
  }
}

type Input =
  | { kind: 'mutated'; index: number; mutation: Mutation }
  | { kind: 'created'; content: Content; after: number }
  | { kind: 'random'; value: unknown }
  | { kind: 'shaped'; value: unknown }

/** Objects with the seven keys in order and random values: they get past the shape checks. */
const shaped = fc.record({
  previous: fc.oneof(fc.constant(null), awkwardText, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => toMessageId(bytes))),
  author: fc.oneof(awkwardText, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => toFeedId(bytes))),
  sequence: awkwardNumber,
  timestamp: awkwardNumber,
  hash: fc.oneof(fc.constant('sha256'), awkwardText),
  content: fc.oneof(anyValue, content),
  signature: fc.oneof(awkwardText, fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => `${Buffer.from(bytes).toString('base64')}.sig.ed25519`)),
})

const CHAIN_LENGTH = 12

export const messageValidator: FuzzTarget = {
  name: 'fuzz: message validator',
  quickRuns: 2_000,
  async run(runs, seed) {
    const identity = generateIdentity(seededBytes(seed, 32))
    const feed = new Feed(identity, sampleContents(seed, identity))
    const tally = new Tally()
    const input: fc.Arbitrary<Input> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('mutated' as const), index: fc.nat(CHAIN_LENGTH - 1), mutation }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('created' as const), content, after: fc.nat(CHAIN_LENGTH - 1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), value: fc.anything() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('shaped' as const), value: shaped }) },
    )
    const property = fc.property(input, (item) => {
      tally.tried++
      if (item.kind === 'random' || item.kind === 'shaped') {
        const outcome = attempt('verifyMessage', () => verifyMessage(item.value))
        if ('accepted' in outcome) violation('a message nobody signed was accepted')
        tally.count('refused')
        return
      }
      if (item.kind === 'created') {
        const previous = feed.at(item.after)
        let created: ValidMessage
        try {
          created = createMessage({ identity: feed.identity, previous: stateOf(previous), content: item.content, timestamp: 1_800_000_000_000 })
        } catch (thrown) {
          expectMessageError(thrown, 'createMessage')
          tally.count('refused')
          return
        }
        // Through JSON, as a peer receives it.
        const received = JSON.parse(JSON.stringify(created.value)) as unknown
        const outcome = attempt('validateMessage', () => validateMessage(stateOf(previous), received))
        if ('refused' in outcome) violation(`a message createMessage signed was refused: ${outcome.refused.code} ${outcome.refused.message}`)
        if (outcome.accepted.key !== created.key) violation(`validateMessage gave id ${outcome.accepted.key}, createMessage ${created.key}`)
        tally.count('accepted')
        return
      }
      const original = feed.at(item.index)
      const mutated = mutate(original.value, item.mutation)
      const unchanged = isUnchanged(mutated, item.mutation, original.value)
      const rightState = item.mutation.kind !== 'wrong-state' || item.mutation.offset === 0
      const state = item.mutation.kind === 'wrong-state' ? feed.stateBefore(Math.max(0, item.index + item.mutation.offset)) : feed.stateBefore(item.index)
      const verified = attempt('verifyMessage', () => verifyMessage(mutated))
      const validated = attempt('validateMessage', () => validateMessage(state, mutated))
      if (unchanged) {
        if ('refused' in verified) violation(`an unchanged message was refused: ${verified.refused.code} ${verified.refused.message}`)
        if (verified.accepted.key !== original.key) violation(`an unchanged message got id ${verified.accepted.key}, not ${original.key}`)
      } else if ('accepted' in verified) {
        violation(`a changed message was accepted as ${verified.accepted.key}`)
      }
      const sameState = state?.id === feed.stateBefore(item.index)?.id
      const shouldAccept = unchanged && (rightState || sameState)
      if (shouldAccept && 'refused' in validated) violation(`a valid successor was refused: ${validated.refused.code} ${validated.refused.message}`)
      if (!shouldAccept && 'accepted' in validated) violation(`validateMessage accepted ${unchanged ? 'a message after the wrong state' : 'a changed message'}`)
      // ssb-validate pretty-prints before measuring: thousands of levels would cost it seconds.
      const referenceCanJudge = item.mutation.kind !== 'content-nesting' || item.mutation.depth <= 200
      if (referenceCanJudge && referenceAccepts(state, mutated) !== 'accepted' in validated) {
        // ssb-validate lets a signature through that decodes, however spelled (65 bytes, say, of
        // which ed25519 reads 64); ssb-validation-dataset, the network's conformance cases, refuses
        // non-canonical and wrong-length ones, and so do we.
        const datasetRule = 'refused' in validated && validated.refused.code === 'EMSG_SIGNATURE_FORMAT'
        if (!datasetRule) violation(`ssb-validate ${'accepted' in validated ? 'refuses' : 'accepts'} what validateMessage ${'accepted' in validated ? 'accepts' : 'refuses'}`)
        tally.count('lenient in ssb-validate')
      }
      tally.count('accepted' in validated ? 'accepted' : 'refused')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: [...tally.percentages('accepted'), `${tally.get('lenient in ssb-validate')} non-canonical signatures only ssb-validate takes`] }
  },
}

type AppendInput = { mutation: Mutation; stored: boolean; back: number }

/**
 * The store in front of the validator: mutated messages appended to a real LevelDB store.
 * Only an unchanged next message may land; a changed copy of a stored one must never fork
 * the feed (only a second valid signature can), and the feed's state must match what landed.
 */
export const storeAppend: FuzzTarget = {
  name: 'fuzz: store append (mutated messages)',
  quickRuns: 500,
  async run(runs, seed) {
    const identity = generateIdentity(seededBytes(seed, 32, 1))
    const feed = new Feed(identity, sampleContents(seed + 1, identity))
    const author: FeedId = feed.identity.id
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearsay-fuzz-store-'))
    let store: Store | null = null
    try {
      store = await openStore({ path: dir, create: true })
      const opened = store
      let stored = 0
      const tally = new Tally()
      const input = fc.record({ mutation, stored: fc.boolean(), back: fc.nat(5) })
      const property = fc.asyncProperty(input, async (item: AppendInput) => {
        tally.tried++
        const index = item.stored && stored > 0 ? Math.max(0, stored - 1 - item.back) : stored
        const original = feed.at(index)
        const mutated = mutate(original.value, item.mutation)
        const unchanged = isUnchanged(mutated, item.mutation, original.value)
        let result
        try {
          result = await opened.append(author, [mutated])
        } catch (thrown) {
          violation(`append threw ${describeThrown(thrown)} instead of reporting a rejection`)
        }
        if (result.forked) violation(`a changed copy of message ${index + 1} marked the feed forked`)
        if (result.accepted.length > 0) {
          if (!unchanged || index !== stored) violation(`append stored a ${unchanged ? 'duplicate' : 'changed'} message at sequence ${result.accepted[0]!.value.sequence}`)
          if (result.accepted[0]!.key !== original.key) violation(`append stored ${result.accepted[0]!.key}, not ${original.key}`)
          stored++
          tally.count('stored')
        } else if (result.duplicates > 0) {
          if (!unchanged || index >= stored) violation(`append called a ${unchanged ? 'new' : 'changed'} message a duplicate`)
          tally.count('duplicate')
        } else {
          if (unchanged && index === stored) violation(`append refused the valid next message: ${result.rejected?.error.message}`)
          const error = result.rejected?.error
          if (!error) violation('append neither stored, deduplicated nor rejected the message')
          expectMessageError(error, 'append')
          tally.count('rejected')
        }
        const status = await opened.feedStatus(author)
        const expected = stored === 0 ? null : feed.at(stored - 1).key
        if ((status?.id ?? null) !== expected || (status?.sequence ?? 0) !== stored) {
          violation(`the feed's state is ${status?.sequence ?? 0}/${status?.id ?? null} after ${stored} stored messages`)
        }
      })
      const failures = await checkProperty(property, runs, seed)
      return { tried: tally.tried, failures, notes: [`${stored} stored`, ...tally.percentages('rejected', 'duplicate')] }
    } finally {
      await store?.close()
      await fs.rm(dir, { recursive: true, force: true })
    }
  },
}
