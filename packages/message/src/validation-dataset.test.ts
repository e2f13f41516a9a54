// Conformance: every case of ssb-validation-dataset must get the same verdict (and id) from us.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { validateMessage, MessageError, type FeedState } from './index.ts'

interface DatasetCase {
  state: FeedState | null
  hmacKey: unknown
  message: unknown
  valid: boolean
  error: string | null
  id: string | null
}

const dataset = createRequire(import.meta.url)('ssb-validation-dataset') as DatasetCase[]

// The dataset's reason for each invalid case, and the code we must give for it, so that no case
// passes by being rejected for some unrelated reason.
const expectedCode: Record<string, string> = {
  'Message must not be null': 'EMSG_NOT_OBJECT',
  'Message must be an object': 'EMSG_NOT_OBJECT',
  'Message must have a valid order': 'EMSG_KEY_ORDER',
  'Message author must be a string': 'EMSG_AUTHOR',
  "Message author must end with '.ed25519'": 'EMSG_AUTHOR',
  'Author must decode to a value with 32 bytes': 'EMSG_AUTHOR',
  'Message sequence must be a number': 'EMSG_SEQUENCE',
  // state is null but the message claims sequence 2: we name the sequence, the dataset the previous.
  'Message previous must be the previous message ID': 'EMSG_SEQUENCE',
  'Message timestamp must be a number': 'EMSG_TIMESTAMP',
  "Message hash must be 'sha256'": 'EMSG_HASH',
  'Message content must not be null': 'EMSG_CONTENT',
  'Message content must be a string or an object': 'EMSG_CONTENT',
  'Message content must not be an array': 'EMSG_CONTENT',
  "Message content string must contain '.box'": 'EMSG_CONTENT',
  'Message content string base64 must be canonical': 'EMSG_CONTENT',
  'Message content type must be a string': 'EMSG_TYPE',
  'Message content type length must not be greater than 52': 'EMSG_TYPE',
  'Message content type length must not be less than 3': 'EMSG_TYPE',
  'Message must decode a value with fewer than 8192 bytes (latin1)': 'EMSG_TOO_LARGE',
  'Signature base64 must be canonical': 'EMSG_SIGNATURE_FORMAT',
  "Message signature must end with '.sig.ed25519'": 'EMSG_SIGNATURE_FORMAT',
  'Signature must decode to a value with 64 bytes': 'EMSG_SIGNATURE_FORMAT',
  // its author is padded with extra '=', which is non-canonical before any signature is checked.
  'Signature value must verify the unsigned message bytes': 'EMSG_AUTHOR',
  'HMAC key must be a string': 'EMSG_HMAC_KEY',
  'HMAC key must be canonical base64': 'EMSG_HMAC_KEY',
  'HMAC key must decode to a value with 32 bytes': 'EMSG_HMAC_KEY',
}

test('the dataset has the 126 cases this suite expects', () => {
  assert.equal(dataset.length, 126)
})

dataset.forEach((testCase, index) => {
  const label = `case ${index}: ${testCase.valid ? 'valid' : testCase.error}`
  test(label, () => {
    if (testCase.valid) {
      const result = validateMessage(testCase.state, testCase.message, testCase.hmacKey as string | null)
      assert.equal(result.key, testCase.id)
    } else {
      assert.throws(
        () => validateMessage(testCase.state, testCase.message, testCase.hmacKey as string | null),
        (err: unknown) => err instanceof MessageError && err.code === expectedCode[testCase.error ?? ''],
      )
    }
  })
})
