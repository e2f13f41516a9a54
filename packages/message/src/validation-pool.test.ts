import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadFixtureMessages, type FixtureMessage } from '@hearsay/test-fixtures'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { decodeCanonicalBase64, decodeSignature, generateIdentity, isMessageId } from '@hearsay/keys'
import { createMessage, verifyMessage, MessageError, type FeedState } from './index.ts'
import { createValidationPool, workerThreadsOf, type VerifyOutcome } from './validation-pool.ts'
import { decodeSignatureInto, isBoxedContent, isCanonicalBase64Range, isMessageIdFast } from './validate.ts'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

function fixture10k(): Promise<FixtureMessage[]> {
  return loadFixtureMessages('10k')
}

/** What a single thread says about a value, in the pool's terms. */
function singleThread(value: unknown, hmacKey?: string | Uint8Array | null): VerifyOutcome {
  try {
    return { key: verifyMessage(value, hmacKey).key }
  } catch (err) {
    assert.ok(err instanceof MessageError, `verifyMessage threw ${String(err)}`)
    return { error: { code: err.code, message: err.message } }
  }
}

const identity = generateIdentity(Buffer.alloc(32, 5))
function chain(count: number, hmacKey: string | null = null): Array<{ key: string; value: Record<string, unknown> }> {
  let previous: FeedState | null = null
  const out = []
  for (let i = 0; i < count; i++) {
    const m = createMessage({ identity, previous, content: { type: 'post', text: `message ${i} — naïve café 🎉` }, timestamp: 1_700_000_000_000 + i, hmacKey })
    previous = { id: m.key, sequence: m.value.sequence, timestamp: m.value.timestamp }
    out.push({ key: m.key, value: JSON.parse(JSON.stringify(m.value)) as Record<string, unknown> })
  }
  return out
}

test('the pool gives the same ids as verifyMessage on one thread, for all 10k fixture messages', async (t) => {
  const messages = await fixture10k()
  const pool = createValidationPool({ threads: 2 })
  t.after(() => pool.close())
  const values = messages.map((m) => m.value)
  const outcomes = await pool.verifyBatch(values)
  assert.equal(outcomes.length, values.length)
  for (const [i, outcome] of outcomes.entries()) {
    assert.deepEqual(outcome, singleThread(values[i]), `message ${i}`)
    assert.deepEqual(outcome, { key: messages[i]!.key }, `message ${i} has the fixture's id`)
  }
})

test('invalid messages come back as errors in place, exactly as verifyMessage reports them', async (t) => {
  const pool = createValidationPool({ threads: 2 })
  t.after(() => pool.close())
  const good = chain(6)
  const v = (i: number) => good[i]!.value
  const values: unknown[] = [
    v(0),
    null,
    [v(1)],
    'a string',
    { ...v(1), content: { type: 'post', text: 'forged' } }, // EMSG_SIGNATURE
    v(1),
    { sequence: v(2).sequence, ...v(2) }, // key order
    { ...v(2), author: (v(2).author as string).replace(/=\.ed25519$/, '.ed25519') },
    { ...v(2), signature: 'x.sig.ed25519' },
    { ...v(2), previous: '%nope.sha256' },
    { ...v(2), content: 'not boxed' },
    { ...v(2), content: { type: 'post', text: 'x'.repeat(9000) } }, // EMSG_TOO_LARGE
    { ...v(2), timestamp: Number.NaN }, // NaN survives structured clone; must stay EMSG_TIMESTAMP
    { ...v(2), content: { type: 'post', big: 1n } }, // not JSON at all
    v(2),
    v(3),
    undefined,
  ]
  const outcomes = await pool.verifyBatch(values)
  assert.equal(outcomes.length, values.length)
  for (const [i, outcome] of outcomes.entries()) {
    if (i === 13) {
      // JSON.stringify throws a TypeError there: the pool reports it, where verifyMessage throws.
      assert.equal('error' in outcome && outcome.error.code, 'EMSG_NOT_JSON')
      continue
    }
    assert.deepEqual(outcome, singleThread(values[i]), `value ${i}`)
  }
  const codes = outcomes.map((o) => ('error' in o ? o.error.code : 'ok'))
  assert.deepEqual(codes, [
    'ok', 'EMSG_NOT_OBJECT', 'EMSG_NOT_OBJECT', 'EMSG_NOT_OBJECT', 'EMSG_SIGNATURE', 'ok', 'EMSG_KEY_ORDER', 'EMSG_AUTHOR',
    'EMSG_SIGNATURE_FORMAT', 'EMSG_PREVIOUS', 'EMSG_CONTENT', 'EMSG_TOO_LARGE', 'EMSG_TIMESTAMP', 'EMSG_NOT_JSON', 'ok', 'ok', 'EMSG_NOT_OBJECT',
  ])
})

test('values structured clone refuses are verified on the calling thread, with the same answers', async (t) => {
  const pool = createValidationPool({ threads: 1 })
  t.after(() => pool.close())
  const [first] = chain(1)
  // JSON.stringify skips a function, so this still verifies, as on one thread.
  const withFunction = { ...first!.value, content: { ...(first!.value.content as object), skipped: () => 1 } }
  const outcomes = await pool.verifyBatch([first!.value, withFunction, { ...withFunction, sequence: 2 }])
  assert.deepEqual(outcomes, [first!.value, withFunction, { ...withFunction, sequence: 2 }].map((value) => singleThread(value)))
  assert.deepEqual(outcomes[1], { key: first!.key })
})

test('HMAC keys: messages of a private network verify with its key, fail without, and a bad key fails each message', async (t) => {
  const pool = createValidationPool({ threads: 2 })
  t.after(() => pool.close())
  const hmacKey = Buffer.alloc(32, 8).toString('base64')
  const messages = chain(5, hmacKey)
  const values = messages.map((m) => m.value)
  assert.deepEqual(await pool.verifyBatch(values, hmacKey), messages.map((m) => ({ key: m.key })))
  assert.deepEqual(await pool.verifyBatch(values, Buffer.from(hmacKey, 'base64')), messages.map((m) => ({ key: m.key })))
  const unkeyed = await pool.verifyBatch(values)
  assert.ok(unkeyed.every((o) => 'error' in o && o.error.code === 'EMSG_SIGNATURE'))
  const badKey = await pool.verifyBatch([...values, null], 'not base64!')
  assert.deepEqual(badKey, [...values, null].map((value) => singleThread(value, 'not base64!')))
  assert.ok(badKey.every((o) => 'error' in o && o.error.code === 'EMSG_HMAC_KEY'))
})

test('concurrent batches of all sizes each get their own answers', async (t) => {
  const pool = createValidationPool({ threads: 2 })
  t.after(() => pool.close())
  const messages = chain(40)
  const batches = [0, 1, 2, 3, 7, 40].map((n) => messages.slice(0, n))
  const answers = await Promise.all(batches.map((batch) => pool.verifyBatch(batch.map((m) => m.value))))
  answers.forEach((answer, i) => assert.deepEqual(answer, batches[i]!.map((m) => ({ key: m.key }))))
})

test('close() ends the workers, rejects unanswered work, and refuses new work', async () => {
  const pool = createValidationPool({ threads: 2 })
  const values = chain(2000).map((m) => m.value)
  await pool.verifyBatch(values.slice(0, 10)) // both workers started
  const workers = workerThreadsOf(pool)
  assert.equal(workers.length, 2)
  const exits = workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)))
  const pending = assert.rejects(pool.verifyBatch(values), /closed before answering/)
  await pool.close()
  await Promise.all(exits)
  await pending
  await assert.rejects(pool.verifyBatch(values.slice(0, 1)), /pool is closed/)
  assert.deepEqual(workerThreadsOf(pool), [])
  await pool.close() // idempotent
})

test('a worker that crashes fails its batch promptly instead of hanging, and the pool carries on', async (t) => {
  // One thread, so the batch in flight is surely on the worker that dies.
  const pool = createValidationPool({ threads: 1 })
  t.after(() => pool.close())
  const messages = chain(3000)
  const values = messages.map((m) => m.value)
  const someAnswers = messages.slice(0, 50).map((m) => ({ key: m.key }))

  // An uncaught exception inside the worker (here: a request it cannot understand).
  const crashing = pool.verifyBatch(values)
  workerThreadsOf(pool)[0]!.postMessage({ nonsense: true })
  await assert.rejects(crashing, /validation worker \d+ crashed: validation worker: not a chunk request/)
  assert.deepEqual(await pool.verifyBatch(values.slice(0, 50)), someAnswers, 'a new worker took over')

  // A worker that dies outright, as if killed.
  const dying = pool.verifyBatch(values)
  void workerThreadsOf(pool)[0]!.terminate()
  await assert.rejects(dying, /validation worker \d+ exited with code 1/)
  assert.deepEqual(await pool.verifyBatch(values.slice(0, 50)), someAnswers, 'and another')
})

/** Runs an ES module script in a fresh node (no --import), from the repository root. */
function runScript(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '--eval', source], { cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

test('workers start when the process registered tsx through its API (no --import), and idle workers never keep it alive', async () => {
  const poolUrl = new URL('./validation-pool.ts', import.meta.url).href
  const [message] = chain(1)
  // The process exits by itself although close() is never called: idle workers are unref'd.
  const stdout = await runScript(`
    import { register } from 'tsx/esm/api'
    register()
    const { createValidationPool } = await import(${JSON.stringify(poolUrl)})
    const pool = createValidationPool({ threads: 2 })
    const outcomes = await pool.verifyBatch([${JSON.stringify(message!.value)}, null])
    console.log(JSON.stringify({ execArgv: process.execArgv.filter((a) => a.startsWith('--import')), outcomes }))
  `)
  const { execArgv, outcomes } = JSON.parse(stdout) as { execArgv: string[]; outcomes: VerifyOutcome[] }
  assert.deepEqual(execArgv, [])
  assert.deepEqual(outcomes[0], { key: message!.key })
  assert.equal('error' in outcomes[1]! && outcomes[1].error.code, 'EMSG_NOT_OBJECT')
})

// validate.ts checks base64 refs and box content with its own fast loops; they must accept
// exactly what @hearsay/keys and ssb-validate's regular expression accept. Seeded, so a failure
// reproduces. (Here rather than beside validate.ts's own tests because this change came with the pool.)
test('fast base64 and box checks agree with @hearsay/keys and ssb-validate', () => {
  let seed = 0x2545f491
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(random() * n)
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
  const junk = ['=', '-', '_', ' ', '\n', '.', 'é', 'Ł', '\ud83d', '\0', 'A', 'Q', 'g', 'w', 'B', '+', '/', '0', '9', 'z']
  const mutate = (text: string) => {
    for (let k = int(4); k > 0; k--) {
      const at = int(text.length + 1)
      const c = junk[int(junk.length)]!
      const op = int(3)
      text = op === 0 ? text.slice(0, at) + c + text.slice(at + 1) : op === 1 ? text.slice(0, at) + c + text.slice(at) : text.slice(0, at) + text.slice(at + 1)
    }
    return text
  }
  // ssb-validate's definition of box content: is-canonical-base64's pattern, then '\\.box.*'.
  const BOXED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/](?:[AQgw]==|[A-Za-z0-9+/][AEIMQUYcgkosw048]=))?\.box.*$/
  const boxTails = ['.box', '.box2', '.box\n', '.bo', '.boxé', '.box.box', '', '.box\u2028x']
  const out = Buffer.alloc(64)
  const accepted = [0, 0, 0, 0]
  for (let i = 0; i < 30_000; i++) {
    const maybeMutate = (text: string) => (random() < 0.7 ? mutate(text) : text)
    const id = maybeMutate(`%${bytes(32).toString('base64')}.sha256`)
    assert.equal(isMessageIdFast(id), isMessageId(id), id)
    if (isMessageId(id)) accepted[0]!++

    const sig = maybeMutate(`${bytes(64).toString('base64')}.sig.ed25519`)
    const expected = decodeSignature(sig)
    assert.equal(decodeSignatureInto(sig, out), expected !== null, sig)
    if (expected) {
      assert.deepEqual(out, expected, sig)
      accepted[1]!++
    }

    const text = maybeMutate(bytes(int(12)).toString('base64'))
    assert.equal(isCanonicalBase64Range(text, 0, text.length), decodeCanonicalBase64(text) !== null, text)
    if (decodeCanonicalBase64(text)) accepted[2]!++

    const box = maybeMutate(bytes(int(40)).toString('base64') + boxTails[int(boxTails.length)]!)
    assert.equal(isBoxedContent(box), BOXED.test(box), JSON.stringify(box))
    if (BOXED.test(box)) accepted[3]!++
  }
  assert.ok(accepted.every((n) => n > 3000), `enough valid cases were tried: ${accepted.join(', ')}`)
})
