import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { decodeCanonicalBase64 } from './base64.ts'
import { identityFromSecretKey, type Identity } from './identity.ts'
import { toFeedId } from './refs.ts'

export class SecretFileError extends Error {
  override readonly name = 'SecretFileError'
  constructor(
    message: string,
    readonly code: 'ESECRETCORRUPT' | 'ESECRETEXISTS' | 'ESECRETMISSING',
  ) {
    super(message)
  }
}

/** The JSON body of `~/.ssb/secret`, as ssb-keys writes it. */
interface SecretJson {
  curve: 'ed25519'
  public: string
  private: string
  id: string
}

/** The exact text ssb-keys writes, so the file is interchangeable with Patchwork's and ssb-server's. */
export function formatSecretFile(identity: Identity): string {
  const json: SecretJson = {
    curve: 'ed25519',
    public: `${identity.publicKey.toString('base64')}.ed25519`,
    private: `${identity.secretKey.toString('base64')}.ed25519`,
    id: identity.id,
  }
  return `# WARNING: Never show this to anyone.
# WARNING: Never edit it or use it on multiple devices at once.
#
# This is your SECRET, it gives you magical powers. With your secret you can
# sign your messages so that your friends can verify that the messages came
# from you. If anyone learns your secret, they can use it to impersonate you.
#
# If you use this secret on more than one device you will create a fork and
# your friends will stop replicating your content.
#
${JSON.stringify(json, null, 2)}
#
# The only part of this file that's safe to share is your public name:
#
#   ${identity.id}`
}

/** Parses a secret file's text: comment lines are dropped (as ssb-keys does), the rest is JSON. */
export function parseSecretFile(text: string, source = 'secret file'): Identity {
  const body = text
    .replace(/\s*#[^\n]*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('')
  let json: Partial<SecretJson>
  try {
    json = JSON.parse(body) as Partial<SecretJson>
  } catch {
    throw new SecretFileError(`${source} is corrupt: its body is not JSON`, 'ESECRETCORRUPT')
  }
  if (json === null || typeof json !== 'object') throw new SecretFileError(`${source} is corrupt: expected a JSON object`, 'ESECRETCORRUPT')
  if (json.curve !== undefined && json.curve !== 'ed25519') {
    throw new SecretFileError(`${source} uses curve ${JSON.stringify(json.curve)}; only ed25519 is supported`, 'ESECRETCORRUPT')
  }
  const privateText = typeof json.private === 'string' ? json.private.replace(/\.ed25519$/, '') : ''
  const secretKey = decodeCanonicalBase64(privateText, 64)
  if (!secretKey) throw new SecretFileError(`${source} is corrupt: "private" is not a base64 64-byte ed25519 key`, 'ESECRETCORRUPT')
  let identity: Identity
  try {
    identity = identityFromSecretKey(secretKey)
  } catch {
    throw new SecretFileError(`${source} is corrupt: "private" does not hold a valid ed25519 keypair`, 'ESECRETCORRUPT')
  }
  const publicText = `${identity.publicKey.toString('base64')}.ed25519`
  if (json.public !== undefined && json.public !== publicText) {
    throw new SecretFileError(`${source} is corrupt: "public" does not match "private"`, 'ESECRETCORRUPT')
  }
  if (json.id !== undefined && json.id !== toFeedId(identity.publicKey)) {
    throw new SecretFileError(`${source} is corrupt: "id" does not match "private"`, 'ESECRETCORRUPT')
  }
  return identity
}

export async function readSecretFile(file: string): Promise<Identity> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SecretFileError(`no secret file at ${file}`, 'ESECRETMISSING')
    throw err
  }
  return parseSecretFile(text, file)
}

/**
 * Writes a new secret file readable only by its owner (0600). It never replaces an existing
 * file: the text goes to a temporary file first and is then hard-linked into place, which
 * fails atomically if the name is taken, so a crash leaves either no secret or a whole one.
 */
export async function writeSecretFile(file: string, identity: Identity): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await fs.open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(formatSecretFile(identity))
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await fs.link(temporary, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SecretFileError(`a secret file already exists at ${file}; refusing to overwrite it`, 'ESECRETEXISTS')
    }
    throw err
  } finally {
    await fs.unlink(temporary)
  }
}
