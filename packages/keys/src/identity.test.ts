import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtemp, readFile, stat, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  generateIdentity, identityFromSecretKey, sign, verify, verifyFeed,
  formatSecretFile, parseSecretFile, readSecretFile, writeSecretFile, SecretFileError,
} from './index.ts'

const require = createRequire(import.meta.url)
const ssbKeys = require('ssb-keys') as {
  generate(curve?: string, seed?: Buffer): { id: string; public: string; private: string }
  createSync(file: string): { id: string; public: string; private: string }
  loadSync(file: string): { id: string; public: string; private: string }
  sign(keys: object, data: Buffer): string
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearsay-keys-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('a seeded identity matches ssb-keys for the same seed', () => {
  const seed = Buffer.alloc(32, 42)
  const ours = generateIdentity(seed)
  const theirs = ssbKeys.generate('ed25519', seed)
  assert.equal(ours.id, theirs.id)
  assert.equal(`${ours.secretKey.toString('base64')}.ed25519`, theirs.private)
  assert.deepEqual(identityFromSecretKey(ours.secretKey), ours)
})

test('signatures verify, and ssb-keys produces the very same signature', () => {
  const identity = generateIdentity(Buffer.alloc(32, 1))
  const data = Buffer.from('hello scuttlebutt')
  const signature = sign(identity, data)
  assert.ok(verify(identity.publicKey, signature, data))
  assert.ok(verifyFeed(identity.id, signature, data))
  assert.equal(verify(identity.publicKey, signature, Buffer.from('hello scuttlebutt!')), false)
  const theirs = ssbKeys.sign(ssbKeys.generate('ed25519', Buffer.alloc(32, 1)), data)
  assert.equal(`${signature.toString('base64')}.sig.ed25519`, theirs)
})

test('our secret file is read by ssb-keys, and theirs by us', async (t) => {
  const dir = await tempDir(t)
  const identity = generateIdentity()
  const ours = path.join(dir, 'ours')
  await writeSecretFile(ours, identity)
  assert.equal(ssbKeys.loadSync(ours).id, identity.id)
  assert.equal((await stat(ours)).mode & 0o777, 0o600)

  const theirsFile = path.join(dir, 'theirs')
  const theirs = ssbKeys.createSync(theirsFile)
  assert.equal((await readSecretFile(theirsFile)).id, theirs.id)
  assert.equal(parseSecretFile(await readFile(theirsFile, 'utf8')).id, theirs.id)
  assert.match(formatSecretFile(identity), new RegExp(`^#   ${identity.id.replace(/[+/]/g, '\\$&')}$`, 'm'))
})

test('an existing secret file is never overwritten', async (t) => {
  const dir = await tempDir(t)
  const file = path.join(dir, 'secret')
  const first = generateIdentity()
  await writeSecretFile(file, first)
  const before = await readFile(file, 'utf8')
  await assert.rejects(writeSecretFile(file, generateIdentity()), (err: unknown) => {
    assert.ok(err instanceof SecretFileError)
    assert.equal(err.code, 'ESECRETEXISTS')
    return true
  })
  assert.equal(await readFile(file, 'utf8'), before)
  const { readdir } = await import('node:fs/promises')
  assert.deepEqual(await readdir(dir), ['secret'], 'no temporary file is left behind')
})

test('corrupt secret files give a clear error, never an identity', async (t) => {
  const dir = await tempDir(t)
  const good = generateIdentity()
  const goodJson = JSON.parse(formatSecretFile(good).replace(/\s*#[^\n]*/g, '')) as Record<string, string>
  const otherPublic = `${generateIdentity().publicKey.toString('base64')}.ed25519`
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /not JSON/],
    ['truncated', formatSecretFile(good).slice(0, 400), /not JSON/],
    ['not an object', '"hello"', /expected a JSON object/],
    ['wrong curve', JSON.stringify({ ...goodJson, curve: 'k256' }), /only ed25519/],
    ['bad private', JSON.stringify({ ...goodJson, private: 'abc.ed25519' }), /"private" is not/],
    ['mismatched public', JSON.stringify({ ...goodJson, public: otherPublic }), /"public" does not match/],
    ['mismatched id', JSON.stringify({ ...goodJson, id: `@${otherPublic}` }), /"id" does not match/],
  ]
  for (const [name, text, expected] of cases) {
    const file = path.join(dir, name)
    await writeFile(file, text)
    await assert.rejects(readSecretFile(file), (err: unknown) => {
      assert.ok(err instanceof SecretFileError, name)
      assert.equal(err.code, 'ESECRETCORRUPT')
      assert.match(err.message, expected, name)
      assert.ok(err.message.includes(file), 'the error names the file')
      return true
    })
  }
  await assert.rejects(readSecretFile(path.join(dir, 'absent')), { code: 'ESECRETMISSING' })
})
