// Target 2: opening box1 (private-box) content. Real boxes to us and to others, cut short,
// bit-flipped, re-spelled, plus random strings. A box either opens to exactly what was boxed
// or does not open; nothing may throw, and no key may open a box to anything else.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { Box1Error, boxContent, createUnboxer, unboxWithKey } from '@hearsay/box1'
import { awkwardText } from './message.ts'
import { Tally, checkProperty, describeThrown, seededBytes, violation, type FuzzTarget } from './property.ts'

type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; keep: number }
  | { kind: 'flip'; byte: number; bit: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'text-char'; position: number; char: string }
  | { kind: 'suffix'; suffix: string }

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), byte: fc.nat(), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('text-char' as const), position: fc.nat(), char: fc.oneof(fc.constantFrom('=', '.', 'A', '-', '_', ' ', '\n'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('suffix' as const), suffix: fc.constantFrom('', '.box2', '.box\n', '.boxx', '.BOX', '.box.box') }) },
)

function damaged(boxed: string, change: Damage): string {
  const text = boxed.slice(0, -'.box'.length)
  const bytes = Buffer.from(text, 'base64')
  switch (change.kind) {
    case 'none':
      return boxed
    case 'truncate':
      return `${bytes.subarray(0, change.keep % bytes.length).toString('base64')}.box`
    case 'flip':
      bytes[change.byte % bytes.length]! ^= 1 << change.bit
      return `${bytes.toString('base64')}.box`
    case 'append':
      return `${Buffer.concat([bytes, change.bytes]).toString('base64')}.box`
    case 'text-char': {
      const at = change.position % boxed.length
      return boxed.slice(0, at) + change.char + boxed.slice(at + 1)
    }
    case 'suffix':
      return text + change.suffix
  }
}

type Input =
  | { kind: 'box'; content: Record<string, unknown>; others: number; toUs: boolean; damage: Damage }
  | { kind: 'random'; text: string }
  | { kind: 'random-key'; key: Uint8Array; content: Record<string, unknown> }

export const box1Decrypt: FuzzTarget = {
  name: 'fuzz: box1 decrypt',
  quickRuns: 1_500,
  async run(runs, seed) {
    const us = generateIdentity(seededBytes(seed, 32, 2))
    const strangers = [3, 4, 5, 6, 7, 8, 9].map((salt) => generateIdentity(seededBytes(seed, 32, salt)).id)
    const unboxer = createUnboxer(us)
    const outsider = createUnboxer(generateIdentity(seededBytes(seed, 32, 10)))
    const tally = new Tally()
    const content = fc.record({ type: fc.constantFrom('post', 'contact'), text: awkwardText, n: fc.double() }).map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>)
    const input: fc.Arbitrary<Input> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('box' as const), content, others: fc.nat(6), toUs: fc.boolean(), damage }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('random' as const), text: fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.base64String({ maxLength: 600 }).map((text) => `${text}.box`)) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('random-key' as const), key: fc.uint8Array({ minLength: 33, maxLength: 33 }), content }) },
    )

    /** What opening `boxed` gave, or a violation if it threw. */
    const open = <T>(what: string, unbox: () => T): T => {
      try {
        return unbox()
      } catch (thrown) {
        violation(`${what} threw ${describeThrown(thrown)}${thrown instanceof Box1Error ? '' : ' (not even a Box1Error)'}`)
      }
    }

    const property = fc.property(input, (item) => {
      tally.tried++
      if (item.kind === 'random') {
        const opened = open('unbox', () => unboxer.unbox(item.text))
        const key = open('unboxKey', () => unboxer.unboxKey(item.text))
        if (opened !== undefined || key !== undefined) violation('a random string opened')
        tally.count('refused')
        return
      }
      if (item.kind === 'random-key') {
        const boxed = boxContent(item.content, [us.id])
        if (open('unboxWithKey', () => unboxWithKey(boxed, Buffer.from(item.key))) !== undefined) violation('a random key opened a box')
        tally.count('refused')
        return
      }
      const recipients: FeedId[] = [...(item.toUs ? [us.id] : []), ...strangers.slice(0, item.others)]
      if (recipients.length === 0) recipients.push(strangers[0]!)
      const boxed = boxContent(item.content, recipients)
      const text = damaged(boxed, item.damage)
      const opened = open('unbox', () => unboxer.unbox(text))
      const key = open('unboxKey', () => unboxer.unboxKey(text))
      const byOutsider = open('unbox (not a recipient)', () => outsider.unbox(text))
      if (byOutsider !== undefined) violation('a box opened for someone it was not addressed to')
      if (!item.toUs && (opened !== undefined || key !== undefined)) violation('a box opened for us though we are not a recipient')
      if (opened !== undefined && !isDeepStrictEqual(opened, item.content)) violation(`a damaged box opened to other content: ${JSON.stringify(opened).slice(0, 80)}`)
      if ((key === undefined) !== (opened === undefined) && item.damage.kind === 'none') violation('unbox and unboxKey disagree on an intact box')
      if (key !== undefined) {
        const withKey = open('unboxWithKey', () => unboxWithKey(text, key))
        if (withKey !== undefined && !isDeepStrictEqual(withKey, item.content)) violation('unboxWithKey opened a damaged box to other content')
      }
      if (item.damage.kind === 'none' && item.toUs && !isDeepStrictEqual(opened, item.content)) violation('an intact box to us did not open to its content')
      tally.count(opened === undefined ? 'refused' : 'opened')
    })
    const failures = await checkProperty(property, runs, seed)
    return { tried: tally.tried, failures, notes: tally.percentages('opened') }
  },
}
