import { fileTypeFromBuffer } from 'file-type'

/** Image types a page may show inline; every other blob is served as an opaque download. */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'])

/** How many leading bytes of a blob `blobResponseHeaders` needs (file-type's sample size). */
export const BLOB_SNIFF_BYTES = 4100

/**
 * The headers a blob is served to a page with, whichever bridge serves it (the web bridge, the
 * desktop app's blob protocol): its type recognised from its first bytes, only known image types
 * inline, never sniffed again by the browser, never a document that may run anything, and cached
 * for good since the bytes behind an id never change.
 */
export async function blobResponseHeaders(head: Uint8Array, size: number): Promise<Record<string, string>> {
  const detected = await fileTypeFromBuffer(head)
  const inline = detected !== undefined && INLINE_IMAGE_TYPES.has(detected.mime)
  return {
    'Content-Type': inline ? detected.mime : 'application/octet-stream',
    ...(inline ? {} : { 'Content-Disposition': 'attachment' }),
    'Content-Length': String(size),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cache-Control': 'private, max-age=31536000, immutable',
  }
}
