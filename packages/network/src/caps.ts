/** The secret-handshake caps key of the main Scuttlebutt network (ssb-caps' `shs`). */
export const MAIN_NETWORK_CAPS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

/** A caps key as its 32 bytes; a private network uses its own key to keep others out. */
export function capsKey(caps: string | Uint8Array = MAIN_NETWORK_CAPS): Buffer {
  const bytes = typeof caps === 'string' ? Buffer.from(caps, 'base64') : Buffer.from(caps)
  if (bytes.length !== 32 || (typeof caps === 'string' && bytes.toString('base64') !== caps)) {
    throw new RangeError('a caps key must be 32 bytes, given as canonical base64')
  }
  return bytes
}
