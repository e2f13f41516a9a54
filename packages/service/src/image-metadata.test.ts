/// <reference lib="dom" />
// Metadata stripping on real images: Chromium encodes a JPEG and a PNG, we add the metadata
// cameras and editors write (EXIF with GPS, XMP, comments; PNG text, EXIF and time chunks),
// strip it — directly and through addBlob into a real blob store — and Chromium decodes the
// result to the very same pixels.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32 } from 'node:zlib'
import { chromium, type Browser, type Page } from 'playwright-core'
import { stripImageMetadata, sniffImageType } from './image-metadata.ts'
import { startTestApp } from './testing.ts'

const CHROMIUM_PATH = '/usr/bin/chromium'
let browser: Browser
let page: Page

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH })
  page = await browser.newPage()
})
after(async () => {
  await browser?.close()
})

/** A 16×16 picture with distinct colours, encoded by Chromium. */
async function encoded(type: 'image/jpeg' | 'image/png'): Promise<Buffer> {
  const dataUrl = await page.evaluate((mime) => {
    const canvas = document.createElement('canvas')
    canvas.width = 16
    canvas.height = 16
    const context = canvas.getContext('2d')!
    context.fillStyle = '#c03030'
    context.fillRect(0, 0, 16, 16)
    context.fillStyle = '#30c060'
    context.fillRect(4, 4, 8, 8)
    return canvas.toDataURL(mime, 0.95)
  }, type)
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')
}

/** What Chromium decodes the bytes to: size and every pixel's RGBA. */
async function decoded(bytes: Buffer, type: string): Promise<{ width: number; height: number; pixels: number[] }> {
  return page.evaluate(async ({ base64, type }) => {
    const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
    const bitmap = await createImageBitmap(new Blob([raw], { type }))
    const canvas = document.createElement('canvas')
    canvas.width = bitmap.width
    canvas.height = bitmap.height
    const context = canvas.getContext('2d')!
    context.drawImage(bitmap, 0, 0)
    return { width: bitmap.width, height: bitmap.height, pixels: [...context.getImageData(0, 0, bitmap.width, bitmap.height).data] }
  }, { base64: bytes.toString('base64'), type })
}

function segment(marker: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4)
  header[0] = 0xff
  header[1] = marker
  header.writeUInt16BE(payload.length + 2, 2)
  return Buffer.concat([header, payload])
}

/** An EXIF block as cameras write it: TIFF IFD0 with Make and Artist, and a GPS IFD with a position. */
function exifPayload(): Buffer {
  const tiff = Buffer.alloc(200)
  tiff.write('MM\0*', 0, 'latin1')
  tiff.writeUInt32BE(8, 4)
  // IFD0 at 8: 3 entries.
  let at = 8
  tiff.writeUInt16BE(3, at)
  at += 2
  const entry = (tag: number, type: number, count: number, value: number) => {
    tiff.writeUInt16BE(tag, at)
    tiff.writeUInt16BE(type, at + 2)
    tiff.writeUInt32BE(count, at + 4)
    tiff.writeUInt32BE(value, at + 8)
    at += 12
  }
  entry(0x010f, 2, 9, 100) // Make → "SnoopCam\0" at 100
  entry(0x013b, 2, 14, 110) // Artist → "Alice Example\0" at 110
  entry(0x8825, 4, 1, 130) // GPS IFD at 130
  tiff.writeUInt32BE(0, at) // no next IFD
  tiff.write('SnoopCam\0', 100, 'latin1')
  tiff.write('Alice Example\0', 110, 'latin1')
  at = 130
  tiff.writeUInt16BE(1, at)
  at += 2
  entry(0x0001, 2, 2, 0x4e000000) // GPSLatitudeRef "N"
  tiff.writeUInt32BE(0, at)
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])
}

/** The JPEG with EXIF, XMP, an ICC-style APP2, a Photoshop APP13 and a comment added after its JFIF header. */
function withJpegMetadata(jpeg: Buffer): Buffer {
  assert.equal(jpeg.readUInt16BE(0), 0xffd8)
  const app0Length = jpeg[3] === 0xe0 ? jpeg.readUInt16BE(4) + 2 : 0
  const head = jpeg.subarray(0, 2 + app0Length)
  const xmp = Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>51,30.1N</exif:GPSLatitude></x:xmpmeta>', 'latin1')
  return Buffer.concat([
    head,
    segment(0xe1, exifPayload()),
    segment(0xe1, xmp),
    segment(0xe2, Buffer.from('ICC_PROFILE\0owner: Alice Example', 'latin1')),
    segment(0xed, Buffer.from('Photoshop 3.0\0Alice Example', 'latin1')),
    segment(0xfe, Buffer.from('taken at home', 'latin1')),
    jpeg.subarray(2 + app0Length),
  ])
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), 8 + data.length)
  return out
}

/** The PNG with text, international text, EXIF and time chunks added after IHDR, and bytes after IEND. */
function withPngMetadata(png: Buffer): Buffer {
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8)
  return Buffer.concat([
    png.subarray(0, ihdrEnd),
    pngChunk('tEXt', Buffer.from('Author\0Alice Example', 'latin1')),
    pngChunk('iTXt', Buffer.from('Comment\0\0\0en\0\0taken at home', 'latin1')),
    pngChunk('eXIf', exifPayload().subarray(6)),
    pngChunk('tIME', Buffer.from([0x07, 0xe9, 1, 2, 3, 4, 5])),
    png.subarray(ihdrEnd),
    Buffer.from('appended secret: Alice Example', 'latin1'),
  ])
}

function jpegMarkers(jpeg: Buffer): number[] {
  const markers: number[] = []
  let at = 2
  while (at < jpeg.length) {
    const marker = jpeg[at + 1]!
    markers.push(marker)
    if (marker === 0xda || marker === 0xd9) break
    at += 2 + jpeg.readUInt16BE(at + 2)
  }
  return markers
}

function pngChunkTypes(png: Buffer): string[] {
  const types: string[] = []
  for (let at = 8; at + 8 <= png.length; at += 12 + png.readUInt32BE(at)) {
    const type = png.toString('latin1', at + 4, at + 8)
    types.push(type)
    if (type === 'IEND') break
  }
  return types
}

const SECRETS = ['Exif', 'SnoopCam', 'Alice Example', 'taken at home', 'GPSLatitude', 'ICC_PROFILE', 'Photoshop']

function assertNoSecrets(bytes: Buffer) {
  const text = bytes.toString('latin1')
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `still contains ${secret}`)
}

test('JPEG: EXIF, XMP, ICC, Photoshop and comments go; JFIF stays; the picture decodes identically', async () => {
  const original = await encoded('image/jpeg')
  const dirty = withJpegMetadata(original)
  assert.ok(dirty.toString('latin1').includes('SnoopCam'))
  const clean = stripImageMetadata(dirty)
  assertNoSecrets(clean)
  assert.equal(jpegMarkers(clean)[0], 0xe0, 'the JFIF header is kept')
  assert.ok(!jpegMarkers(clean).some((m) => (m >= 0xe1 && m <= 0xef) || m === 0xfe))
  // Stripping a clean file changes nothing.
  assert.deepEqual(stripImageMetadata(clean), clean)
  assert.deepEqual(await decoded(clean, 'image/jpeg'), await decoded(original, 'image/jpeg'))
})

test('PNG: text, EXIF and time chunks and anything after IEND go; the picture decodes identically', async () => {
  const original = await encoded('image/png')
  const dirty = withPngMetadata(original)
  const clean = stripImageMetadata(dirty)
  assertNoSecrets(clean)
  assert.deepEqual(pngChunkTypes(clean), pngChunkTypes(original))
  assert.ok(!clean.toString('latin1').includes('appended secret'))
  assert.deepEqual(await decoded(clean, 'image/png'), await decoded(original, 'image/png'))
})

test('damaged JPEGs and PNGs are refused, not passed through; other bytes pass untouched', async () => {
  const jpeg = withJpegMetadata(await encoded('image/jpeg'))
  // A segment length running past the end, a file cut inside its headers, a missing marker.
  const overlong = Buffer.from(jpeg)
  overlong.writeUInt16BE(0xfff0, 2 + 2 + (jpeg.readUInt16BE(4)) + 2)
  assert.throws(() => stripImageMetadata(overlong), { code: 'EAPI_BAD_IMAGE' })
  assert.throws(() => stripImageMetadata(jpeg.subarray(0, 30)), { code: 'EAPI_BAD_IMAGE' })
  assert.throws(() => stripImageMetadata(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00])), { code: 'EAPI_BAD_IMAGE' })
  const png = await encoded('image/png')
  assert.throws(() => stripImageMetadata(png.subarray(0, png.length - 12)), { code: 'EAPI_BAD_IMAGE' })
  const badLength = Buffer.from(png)
  badLength.writeUInt32BE(0x7fffffff, 8)
  assert.throws(() => stripImageMetadata(badLength), { code: 'EAPI_BAD_IMAGE' })
  const text = Buffer.from('just text, Alice Example')
  assert.equal(stripImageMetadata(text), text)
  assert.equal(sniffImageType(text), null)
})

test('addBlob stores the stripped bytes, names the real type, and refuses bad uploads without storing anything', async (t) => {
  const app = await startTestApp(t)
  const dirty = withJpegMetadata(await encoded('image/jpeg'))
  const added = await app.handlers.addBlob({ base64: dirty.toString('base64'), mimeType: 'image/jpeg' })
  const stored: Buffer[] = []
  for await (const chunk of await app.blobs.get(added.id)) stored.push(chunk as Buffer)
  const bytes = Buffer.concat(stored)
  assertNoSecrets(bytes)
  assert.equal(added.size, bytes.length)
  assert.equal(added.mimeType, 'image/jpeg')
  assert.deepEqual(bytes, stripImageMetadata(dirty))

  const png = await app.handlers.addBlob({ base64: withPngMetadata(await encoded('image/png')).toString('base64'), mimeType: 'application/x-whatever' })
  assert.equal(png.mimeType, 'image/png', 'the type comes from the bytes, not the claim')
  const claimed = await app.handlers.addBlob({ base64: Buffer.from('<svg onload=alert(1)>').toString('base64'), mimeType: 'image/svg+xml' })
  assert.equal(claimed.mimeType, 'application/octet-stream')

  const count = async () => {
    let n = 0
    for await (const _id of app.blobs.ls()) n++
    return n
  }
  const before = await count()
  await assert.rejects(app.handlers.addBlob({ base64: dirty.subarray(0, 40).toString('base64'), mimeType: 'image/jpeg' }), { code: 'EAPI_BAD_IMAGE' })
  await assert.rejects(app.handlers.addBlob({ base64: 'not base64!', mimeType: 'image/jpeg' }), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(app.handlers.addBlob({ base64: '', mimeType: 'image/jpeg' }), { code: 'EAPI_BAD_ARGUMENT' })
  await assert.rejects(app.handlers.addBlob(null as never), { code: 'EAPI_BAD_ARGUMENT' })
  assert.equal(await count(), before)
})
