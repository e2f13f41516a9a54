// Image bytes as people upload them carry more than pixels: a phone's JPEG holds EXIF (GPS
// position, camera serial, time), editors leave names and comments in PNG text chunks. Blobs are
// public and permanent once shared, so what addBlob stores has those removed first.

export type ImageType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp'

/** An image file that is damaged in a way that stops it being cleaned safely. */
export class ImageMetadataError extends Error {
  override readonly name = 'ImageMetadataError'
  readonly code = 'EAPI_BAD_IMAGE'
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** The image type the bytes really are (by their magic bytes), or null: what a declared type is never trusted over. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg'
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png'
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return 'image/gif'
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp'
  return null
}

/**
 * The image without its metadata: JPEG APPn segments (EXIF, XMP, ICC, maker notes, Photoshop
 * IRBs) and comments are dropped, keeping only the JFIF header and Adobe's colour-transform
 * marker, which decoders need; PNG text, EXIF and time chunks are dropped. Other bytes pass
 * through unchanged. Throws ImageMetadataError for a JPEG or PNG whose structure is broken.
 */
export function stripImageMetadata(bytes: Buffer): Buffer {
  const type = sniffImageType(bytes)
  if (type === 'image/jpeg') return stripJpeg(bytes)
  if (type === 'image/png') return stripPng(bytes)
  return bytes
}

const SOS = 0xda
const EOI = 0xd9
const COM = 0xfe
const APP0 = 0xe0
const APP14 = 0xee
const APP15 = 0xef

function stripJpeg(bytes: Buffer): Buffer {
  const kept: Buffer[] = [bytes.subarray(0, 2)]
  let at = 2
  for (;;) {
    if (at >= bytes.length) throw new ImageMetadataError('this JPEG ends before its image data')
    if (bytes[at] !== 0xff) throw new ImageMetadataError(`this JPEG is damaged: expected a marker at byte ${at}`)
    // Any number of 0xFF fill bytes may come before a marker.
    let markerAt = at
    while (markerAt + 1 < bytes.length && bytes[markerAt + 1] === 0xff) markerAt++
    const marker = bytes[markerAt + 1]
    if (marker === undefined) throw new ImageMetadataError('this JPEG ends inside a marker')
    if (marker === EOI) {
      kept.push(bytes.subarray(markerAt, markerAt + 2))
      break
    }
    // Markers without a length: TEM and the restart markers.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      kept.push(bytes.subarray(markerAt, markerAt + 2))
      at = markerAt + 2
      continue
    }
    if (markerAt + 4 > bytes.length) throw new ImageMetadataError('this JPEG ends inside a segment header')
    const length = bytes.readUInt16BE(markerAt + 2)
    const end = markerAt + 2 + length
    if (length < 2 || end > bytes.length) throw new ImageMetadataError(`this JPEG is damaged: a segment at byte ${markerAt} runs past the end`)
    if (marker === SOS) {
      // The entropy-coded data (and whatever follows it) is the picture itself: kept whole.
      kept.push(bytes.subarray(markerAt))
      break
    }
    if (!isMetadataSegment(marker, bytes.subarray(markerAt + 4, end))) kept.push(bytes.subarray(markerAt, end))
    at = end
  }
  return Buffer.concat(kept)
}

function isMetadataSegment(marker: number, payload: Buffer): boolean {
  if (marker === COM) return true
  if (marker < APP0 || marker > APP15) return false
  const id = payload.toString('latin1', 0, 5)
  if (marker === APP0 && (id === 'JFIF\0' || id === 'JFXX\0')) return false
  if (marker === APP14 && id === 'Adobe') return false
  return true
}

/** PNG chunks that carry words, dates or EXIF rather than anything about how pixels look. */
const PNG_METADATA_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME'])

function stripPng(bytes: Buffer): Buffer {
  const kept: Buffer[] = [bytes.subarray(0, 8)]
  let at = 8
  for (;;) {
    if (at + 12 > bytes.length) throw new ImageMetadataError('this PNG ends before its IEND chunk')
    const length = bytes.readUInt32BE(at)
    const type = bytes.toString('latin1', at + 4, at + 8)
    const end = at + 12 + length
    if (!/^[A-Za-z]{4}$/.test(type) || end > bytes.length) throw new ImageMetadataError(`this PNG is damaged: a chunk at byte ${at} runs past the end`)
    if (!PNG_METADATA_CHUNKS.has(type)) kept.push(bytes.subarray(at, end))
    at = end
    // Anything after IEND is not part of the image, and is where files hide appended data.
    if (type === 'IEND') break
  }
  return Buffer.concat(kept)
}
