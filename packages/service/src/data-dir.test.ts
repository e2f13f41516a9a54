// The data directory a first run makes: private to its owner, whatever state the folder was in.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { generateIdentity } from '@hearsay/keys'
import { initialiseDataDir, secretPath } from './data-dir.ts'
import { tempDir } from './testing.ts'

test('initialising makes the data directory 0700 and the secret 0600, also in a folder that existed (0755)', async (t) => {
  const base = await tempDir(t)
  const existing = path.join(base, 'made-before')
  await fs.mkdir(existing)
  await fs.chmod(existing, 0o755)
  const fresh = path.join(base, 'nested', 'fresh')
  for (const dataDir of [existing, fresh]) {
    await initialiseDataDir(dataDir, generateIdentity())
    assert.equal((await fs.stat(dataDir)).mode & 0o777, 0o700, dataDir)
    assert.equal((await fs.stat(secretPath(dataDir))).mode & 0o777, 0o600, dataDir)
  }
})
