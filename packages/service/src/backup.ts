// An identity's backup as people keep it: the 24-word phrase Manyverse shows (ssb-keys-mnemonic:
// the BIP39 words of the ed25519 seed) and the SSB secret file text ssb-keys writes. Restoring
// reads either, and says precisely what is wrong with a phrase that does not check out.
import bip39 from 'bip39'
import mnemonic from 'ssb-keys-mnemonic'
import { formatSecretFile, identityFromSecretKey, parseSecretFile, SecretFileError, type Identity } from '@hearsay/keys'
import { ApiError, type BackupView } from '@hearsay/client-api'

/** Words in a phrase. ssb-keys-mnemonic also reads 48 (older Manyverse phrases), using the first 24. */
export const PHRASE_WORDS = 24
const LONG_PHRASE_WORDS = 48

export function backupOf(identity: Identity): BackupView {
  return { id: identity.id, phrase: phraseOf(identity), secretFile: formatSecretFile(identity) }
}

export function phraseOf(identity: Identity): string {
  return mnemonic.keysToWords({
    curve: 'ed25519',
    public: `${identity.publicKey.toString('base64')}.ed25519`,
    private: `${identity.secretKey.toString('base64')}.ed25519`,
    id: identity.id,
  })
}

function backupError(code: 'EBACKUP_PHRASE_LENGTH' | 'EBACKUP_PHRASE_WORD' | 'EBACKUP_PHRASE_CHECKSUM' | 'EBACKUP_SECRET_FILE', message: string): ApiError {
  return new ApiError({ name: 'BackupError', code, message })
}

/**
 * The identity a backup holds: a secret file's text (it has a `{`) or a recovery phrase. Throws
 * ApiError EBACKUP_* naming what is wrong, never echoing the secret itself.
 */
export function identityFromBackup(text: string): Identity {
  if (text.includes('{')) {
    try {
      return parseSecretFile(text, 'the secret file')
    } catch (err) {
      if (err instanceof SecretFileError) throw backupError('EBACKUP_SECRET_FILE', err.message)
      throw err
    }
  }
  const words = text.trim().toLowerCase().split(/\s+/).filter((word) => word !== '')
  if (words.length !== PHRASE_WORDS && words.length !== LONG_PHRASE_WORDS) {
    throw backupError('EBACKUP_PHRASE_LENGTH', `a recovery phrase has ${PHRASE_WORDS} words; this has ${words.length}`)
  }
  const known = new Set(bip39.wordlists.english!)
  const unknown = words.findIndex((word) => !known.has(word))
  if (unknown >= 0) throw backupError('EBACKUP_PHRASE_WORD', `word ${unknown + 1} is not one of the recovery-phrase words; check its spelling`)
  if (!bip39.validateMnemonic(words.slice(0, PHRASE_WORDS).join(' '))) {
    throw backupError('EBACKUP_PHRASE_CHECKSUM', 'these words do not check out as a recovery phrase (a word is wrong or out of order)')
  }
  const keys = mnemonic.wordsToKeys(words.join(' '))
  return identityFromSecretKey(Buffer.from(keys.private.replace(/\.ed25519$/, ''), 'base64'))
}
