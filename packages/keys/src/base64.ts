/**
 * Canonical base64: standard alphabet, '=' padding present, unused trailing bits zero.
 * SSB ids and signatures must be canonical so that one key has exactly one spelling;
 * Node's decoder is lenient, so we decode and insist the re-encoding is identical.
 */
export function decodeCanonicalBase64(text: string, expectedBytes?: number): Buffer | null {
  if (text.length % 4 !== 0) return null
  const bytes = Buffer.from(text, 'base64')
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) return null
  if (bytes.toString('base64') !== text) return null
  return bytes
}

export function isCanonicalBase64(text: string): boolean {
  return decodeCanonicalBase64(text) !== null
}
