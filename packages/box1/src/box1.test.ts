import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import { generateIdentity, InvalidRefError, type FeedId, type Identity } from '@hearsay/keys'
import { boxContent, createUnboxer, unboxWithKey, isBoxedString, Box1Error } from './index.ts'

interface SsbKeys {
  id: string
  public: string
  private: string
  curve: string
}

const require = createRequire(import.meta.url)
const ssbKeys = require('ssb-keys') as {
  generate(curve?: string, seed?: Buffer): SsbKeys
  box(content: unknown, recipients: readonly string[]): string
  unbox(boxed: string, keys: SsbKeys): unknown
  unboxKey(boxed: string, keys: SsbKeys): Buffer | null | undefined
  unboxBody(boxed: string, key: Buffer): unknown
}
const privateBox = require('private-box') as { multibox(plaintext: Buffer, curvePublicKeys: Buffer[]): Buffer }
const ssbValidate = require('ssb-validate') as { isInvalidContent(content: unknown): Error | false }

let nextSeed = 1
/** The same keypair in our shape and in ssb-keys' shape. */
function person(): { identity: Identity; keys: SsbKeys } {
  const seed = Buffer.alloc(32, nextSeed++)
  const identity = generateIdentity(seed)
  const keys = ssbKeys.generate('ed25519', seed)
  assert.equal(keys.id, identity.id)
  return { identity, keys }
}

function people(count: number) {
  return Array.from({ length: count }, person)
}

function curvePublicKey(identity: Identity): Buffer {
  const key = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_pk_to_curve25519(key, identity.publicKey)
  return key
}

/** Re-encodes raw ciphertext bytes in the string form. */
function asBoxed(bytes: Uint8Array): string {
  return `${Buffer.from(bytes).toString('base64')}.box`
}

function bytesOf(boxed: string): Buffer {
  return Buffer.from(boxed.slice(0, -4), 'base64')
}

const content = { type: 'post', text: 'only for you', mentions: [{ link: '@x', name: 'x' }], n: 1.5, ok: true, none: null }

for (const count of [1, 7]) {
  test(`ssb-keys boxes to ${count} recipient(s), every one of them opens it with us`, () => {
    const recipients = people(count)
    const boxed = ssbKeys.box(content, recipients.map((r) => r.keys.id))
    assert.ok(isBoxedString(boxed))
    for (const { identity, keys } of recipients) {
      const unboxer = createUnboxer(identity)
      assert.deepEqual(unboxer.unbox(boxed), content)
      const key = unboxer.unboxKey(boxed)
      assert.ok(key)
      assert.equal(key.length, 33)
      assert.equal(key[0], count, 'the first byte is the recipient count')
      assert.deepEqual(key, ssbKeys.unboxKey(boxed, keys), 'the same key ssb-keys would store')
    }
    assert.equal(createUnboxer(person().identity).unbox(boxed), undefined, 'a non-recipient cannot open it')
  })

  test(`we box to ${count} recipient(s), every one of them opens it with ssb-keys`, () => {
    const recipients = people(count)
    const boxed = boxContent(content, recipients.map((r) => r.identity.id))
    assert.ok(isBoxedString(boxed))
    // Same layout as theirs: nonce, one-time key, one 49-byte slot each, then the body.
    const json = Buffer.byteLength(JSON.stringify(content))
    assert.equal(bytesOf(boxed).length, 24 + 32 + 49 * count + json + 16)
    assert.equal(bytesOf(boxed).length, bytesOf(ssbKeys.box(content, recipients.map((r) => r.keys.id))).length)
    for (const { identity, keys } of recipients) {
      assert.deepEqual(ssbKeys.unbox(boxed, keys), content)
      assert.deepEqual(createUnboxer(identity).unbox(boxed), content)
    }
    const outsider = person()
    assert.equal(ssbKeys.unbox(boxed, outsider.keys), undefined)
    assert.equal(createUnboxer(outsider.identity).unbox(boxed), undefined)
    assert.equal(createUnboxer(outsider.identity).unboxKey(boxed), undefined)
  })
}

test('keys from unboxKey reopen the message, and interchange with ssb-keys', () => {
  const [alice, bob] = people(2) as [ReturnType<typeof person>, ReturnType<typeof person>]
  const ours = boxContent(content, [alice.identity.id, bob.identity.id])
  const theirs = ssbKeys.box(content, [alice.keys.id, bob.keys.id])
  const { unboxKey } = createUnboxer(bob.identity) // methods work detached
  const ourKey = unboxKey(ours)
  const theirKey = unboxKey(theirs)
  assert.ok(ourKey && theirKey)
  assert.deepEqual(unboxWithKey(ours, ourKey), content)
  assert.deepEqual(unboxWithKey(theirs, theirKey), content)
  assert.deepEqual(ssbKeys.unboxBody(ours, ourKey), content)
  assert.deepEqual(unboxWithKey(theirs, ssbKeys.unboxKey(theirs, alice.keys) as Buffer), content)
  assert.equal(unboxWithKey(ours, theirKey), undefined, 'a key opens only its own message')
  assert.equal(unboxWithKey(ours, ourKey.subarray(0, 32)), undefined)
  assert.equal(unboxWithKey(ours, Buffer.concat([ourKey, Buffer.alloc(1)])), undefined)
  const wrongCount = Buffer.from(ourKey)
  wrongCount[0] = 1
  assert.equal(unboxWithKey(ours, wrongCount), undefined, 'a corrupt stored count finds no body')
  wrongCount[0] = 255
  assert.equal(unboxWithKey(ours, wrongCount), undefined, 'a count past the end is refused, not thrown')
  assert.equal(unboxWithKey(ours, 'not a key' as unknown as Buffer), undefined)
  // Reopening must not have disturbed the key or the string.
  assert.deepEqual(unboxWithKey(ours, ourKey), content)
})

test('recipients: duplicates collapse, 1 to 7 distinct are allowed', () => {
  const [alice, bob] = people(2) as [ReturnType<typeof person>, ReturnType<typeof person>]
  const boxed = boxContent(content, [alice.identity.id, bob.identity.id, alice.identity.id, bob.identity.id])
  assert.equal(bytesOf(boxed).length, 24 + 32 + 49 * 2 + Buffer.byteLength(JSON.stringify(content)) + 16)
  assert.equal(createUnboxer(alice.identity).unboxKey(boxed)?.[0], 2)
  assert.deepEqual(ssbKeys.unbox(boxed, bob.keys), content)

  const seven = people(7).map((p) => p.identity.id)
  const withRepeats = [...seven, seven[0]!, seven[6]!]
  assert.ok(isBoxedString(boxContent(content, withRepeats)), '9 ids naming 7 feeds are fine')
})

test('0 or more than 7 distinct recipients are refused with EBOXRECIPIENTS', () => {
  const eight = people(8).map((p) => p.identity.id)
  const refused = (recipients: readonly FeedId[], message: RegExp) =>
    assert.throws(() => boxContent(content, recipients), (err: unknown) => {
      assert.ok(err instanceof Box1Error)
      assert.equal(err.name, 'Box1Error')
      assert.equal(err.code, 'EBOXRECIPIENTS')
      assert.match(err.message, message)
      return true
    })
  refused(eight, /at most 7 recipients, got 8/)
  refused([], /at least one recipient/)
  assert.throws(() => ssbKeys.box(content, eight), /max recipients is:7/, 'ssb-keys refuses 8 too')
})

test('recipients that are not usable feed ids throw InvalidRefError', () => {
  const alice = person().identity.id
  const bad = [
    '@nope.ed25519',
    `%${Buffer.alloc(32, 1).toString('base64')}.sha256`,
    alice.replace('=', ''),
    // Canonical spelling of 32 bytes, but the ed25519 identity point: small order, no secret key.
    `@${Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]).toString('base64')}.ed25519`,
  ]
  for (const id of bad) {
    assert.throws(() => boxContent(content, [alice, id as FeedId]), InvalidRefError, id)
  }
  assert.throws(() => boxContent(content, [42 as unknown as FeedId]), InvalidRefError)
})

test('content that is not a JSON object is refused with EBOXCONTENT', () => {
  const me = person().identity.id
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  for (const value of [null, 'text', 42, cyclic, { toJSON: () => undefined }, { big: 1n }]) {
    assert.throws(() => boxContent(value as object, [me]), { name: 'Box1Error', code: 'EBOXCONTENT' })
  }
})

test('unicode survives both directions byte for byte', () => {
  const alice = person()
  const text = 'emoji 🦀👩‍👩‍👧 astral 𝄞𠜎 separators \u2028\u2029 nul \u0000 lone \ud800 bom \ufeff end'
  const message = { type: 'post', text, [text]: text }
  const ours = boxContent(message, [alice.identity.id])
  const theirs = ssbKeys.box(message, [alice.keys.id])
  assert.equal(bytesOf(ours).length, bytesOf(theirs).length, 'same UTF-8 plaintext length')
  const unboxer = createUnboxer(alice.identity)
  for (const boxed of [ours, theirs]) {
    assert.deepEqual(unboxer.unbox(boxed), message)
    assert.deepEqual(ssbKeys.unbox(boxed, alice.keys), message)
  }
})

test('hostile input returns undefined and never throws', () => {
  const alice = person()
  const unboxer = createUnboxer(alice.identity)
  const aliceCurve = curvePublicKey(alice.identity)
  const good = boxContent(content, [alice.identity.id])
  const goodBytes = bytesOf(good)
  const key = unboxer.unboxKey(good)!

  // Damage confined to the body leaves our slot intact, so unboxKey still finds the key
  // there (as ssb-keys' does); only opening the body fails.
  const check = (boxed: unknown, label: string, slotIntact = false) => {
    assert.equal(unboxer.unbox(boxed as string), undefined, label)
    assert.deepEqual(unboxer.unboxKey(boxed as string), slotIntact ? key : undefined, label)
    assert.equal(unboxWithKey(boxed as string, key), undefined, label)
  }

  check('', 'empty string')
  check('.box', '".box" alone')
  check('AAAA.box', 'a few zero bytes')
  check(asBoxed(randomBytes(300)), 'random bytes')
  check(asBoxed(Buffer.alloc(300)), 'all zeros (a low-order one-time key, which libsodium refuses)')
  check('hello world.box', 'not base64')
  check(`${good.slice(0, -4).replace(/\+/g, '-').replace(/\//g, '_')}.box`, 'url-safe alphabet')
  check(`${good.slice(0, 10)}\n${good.slice(10)}`, 'whitespace inside the base64')
  check(good.slice(0, -4), 'no suffix')
  check(`${good}2`, '".box2" is some other format')
  check(`${good}\n`, 'trailing newline')
  check(` ${good}`, 'leading space')
  for (const value of [undefined, null, 42, {}, goodBytes, ['x']]) check(value, `non-string ${typeof value}`)

  // One '=' of padding leaves 2 unused bits in the last character; setting one gives a second
  // spelling of the same bytes, which Node decodes leniently and the network refuses.
  let padded = { type: 'x', t: '' }
  // 121 bytes of framing plus the JSON; a length of 2 mod 3 ends in exactly one '='.
  while ((121 + Buffer.byteLength(JSON.stringify(padded))) % 3 !== 2) padded = { type: 'x', t: `${padded.t}a` }
  const canonical = boxContent(padded, [alice.identity.id])
  assert.match(canonical, /[^=]=\.box$/)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const last = canonical.length - 6
  const sloppy = `${canonical.slice(0, last)}${alphabet[alphabet.indexOf(canonical[last]!) + 1]}=.box`
  assert.deepEqual(bytesOf(sloppy), bytesOf(canonical), 'same bytes, second spelling')
  assert.deepEqual(unboxer.unbox(canonical), padded)
  check(sloppy, 'non-canonical base64')

  for (let length = 0; length < goodBytes.length; length++) {
    // private-box only tries a slot that ends at least 16 bytes before the end.
    check(asBoxed(goodBytes.subarray(0, length)), `truncated to ${length} bytes`, length >= 56 + 49 + 16)
  }
  check(asBoxed(Buffer.concat([goodBytes, Buffer.from([0])])), 'a byte appended', true)

  for (let i = 0; i < goodBytes.length; i++) {
    const flipped = Buffer.from(goodBytes)
    flipped[i]! ^= 0x01
    const boxed = asBoxed(flipped)
    const label = `byte ${i} flipped`
    assert.equal(unboxer.unbox(boxed), undefined, label)
    // The nonce is covered by every MAC, a slot only by its own, the body by the body's.
    assert.deepEqual(unboxer.unboxKey(boxed), i >= 56 + 49 ? key : undefined, label)
    // A stored key skips the one-time key and the slots, so damage there goes unseen, exactly
    // as with ssb-keys' unboxBody: what a store keeps is the key, not a proof about the header.
    const reopened = unboxWithKey(boxed, key)
    if (i >= 24 && i < 56 + 49) assert.deepEqual(reopened, content, label)
    else assert.equal(reopened, undefined, label)
  }
  // Not every flip is detected: X25519 ignores the top bit of the one-time key, so this
  // second spelling opens too (in ssb-keys as well). One ciphertext is not one string.
  const topBit = Buffer.from(goodBytes)
  topBit[55]! ^= 0x80
  assert.deepEqual(unboxer.unbox(asBoxed(topBit)), content)
  assert.deepEqual(ssbKeys.unbox(asBoxed(topBit), alice.keys), content)

  // Boxes that open but whose plaintext is not JSON, built with private-box directly.
  for (const plaintext of ['not json', '{"type":"post"', '', '\u00ff'.repeat(3)]) {
    const boxed = asBoxed(privateBox.multibox(Buffer.from(plaintext, 'latin1'), [aliceCurve]))
    assert.ok(unboxer.unboxKey(boxed), `${JSON.stringify(plaintext)} is addressed to us`)
    assert.equal(unboxer.unbox(boxed), undefined, JSON.stringify(plaintext))
    assert.equal(unboxWithKey(boxed, unboxer.unboxKey(boxed)!), undefined, JSON.stringify(plaintext))
    assert.equal(ssbKeys.unbox(boxed, alice.keys), undefined, 'ssb-keys agrees')
  }
  // A JSON scalar is what it says, as in ssb-keys; callers decide whether it is content.
  const nullBox = asBoxed(privateBox.multibox(Buffer.from('null'), [aliceCurve]))
  assert.equal(unboxer.unbox(nullBox), null)
  assert.equal(ssbKeys.unbox(nullBox, alice.keys), null)

  // ssb-keys' unboxKey throws on a low-order one-time key; ours must not.
  const lowOrder = Buffer.from(goodBytes)
  lowOrder.fill(0, 24, 56)
  assert.throws(() => ssbKeys.unboxKey(asBoxed(lowOrder), alice.keys))
  assert.equal(unboxer.unbox(asBoxed(lowOrder)), undefined)
  assert.equal(unboxer.unboxKey(asBoxed(lowOrder)), undefined)

  assert.deepEqual(unboxer.unbox(good), content, 'the unboxer still works after all that')
})

test('our slot is found at indices 0 to 7, as private-box finds it, and not at 8', () => {
  const alice = person()
  const unboxer = createUnboxer(alice.identity)
  const boxed = ssbKeys.box(content, [alice.keys.id])
  const bytes = bytesOf(boxed)
  const slot = bytes.subarray(56, 56 + 49)
  // Move our slot to index i behind i decoys. Only the key is compared: the body no longer
  // starts where the count byte says, so these boxes cannot be read to the end.
  for (let i = 0; i <= 8; i++) {
    const decoys = randomBytes(49 * i)
    const moved = Buffer.concat([bytes.subarray(0, 56), decoys, slot, bytes.subarray(56 + 49)])
    const ours = unboxer.unboxKey(asBoxed(moved))
    const theirs = ssbKeys.unboxKey(asBoxed(moved), alice.keys)
    assert.equal(ours !== undefined, i <= 7, `slot ${i}`)
    assert.deepEqual(ours ?? null, theirs ?? null, `slot ${i} agrees with private-box`)
  }
})

test('isBoxedString agrees with ssb-validate on what counts as encrypted content', () => {
  const alice = person()
  const strings = [
    boxContent(content, [alice.identity.id]),
    ssbKeys.box(content, [alice.keys.id]),
    '.box', 'AAAA.box', 'AAA=.box', 'AA==.box', 'AAAA.box2', 'AAAA.boxanything', 'AAAA.box.sig',
    'AAB=.box', 'AR==.box', 'AAA.box', 'A===.box', 'AAAA', 'AAAA.BOX', 'AAAA .box', '-_AA.box', 'AAAA.box\n',
    'AAAA.box\u2028', 'AAAA.box\nmore', '\nAAAA.box', '', 'box', 'hello world.box',
  ]
  for (const text of strings) {
    const encryptedForValidate = ssbValidate.isInvalidContent(text) === false
    assert.equal(isBoxedString(text), encryptedForValidate, JSON.stringify(text))
  }
  assert.ok(isBoxedString('.box'), 'empty base64 is canonical, so ssb-validate accepts it')
  assert.equal(isBoxedString('AAAA.box2'), true, 'future box formats count as encrypted')
  for (const value of [undefined, null, 42, { type: 'post' }, Buffer.from('AAAA.box')]) {
    assert.equal(isBoxedString(value), false)
  }
})

test('isBoxedString matches ssb-validate on thousands of generated near-misses', () => {
  const pieces = ['A', 'B', 'Q', 'R', 'g', 'w', 'c', 'E', '0', '8', '+', '/', '=', '==', '.', 'box', '.box', 'BOX', '\n', '\r', '\u2028', ' ', '-', 'é']
  let state = 0x2545f491 // xorshift32: a fixed seed, so a failure reproduces
  const random = (n: number) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % n
  }
  for (let i = 0; i < 20_000; i++) {
    let text = ''
    for (let n = random(12); n > 0; n--) text += pieces[random(pieces.length)]
    assert.equal(isBoxedString(text), ssbValidate.isInvalidContent(text) === false, JSON.stringify(text))
  }
})

test('megabytes of input are answered, not a stack overflow', () => {
  const unboxer = createUnboxer(person().identity)
  const zeros = 'A'.repeat(8_000_000)
  // ssb-validate's own expression throws RangeError on strings like these.
  assert.equal(isBoxedString(`${zeros}.box`), true)
  assert.equal(isBoxedString(`${zeros}!.box`), false)
  assert.equal(unboxer.unbox(`${zeros}.box`), undefined)
  assert.equal(unboxer.unbox(`${zeros}!.box`), undefined)
  assert.equal(unboxer.unboxKey(`${zeros}.box`), undefined)
})
