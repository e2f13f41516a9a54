// Draws the app icon (build/icon.png, 1024×1024) from the SVG below with Chromium, so the icon
// is reproducible from source. electron-builder derives the macOS .icns and Windows .ico from it.
//   tsx apps/desktop/scripts/make-icon.ts
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { DESKTOP_DIR } from './build.ts'

const SIZE = 1024
export const ICON_PATH = path.resolve(DESKTOP_DIR, '../../build/icon.png')

// A speech bubble (hearsay) holding three dots that gossip to each other.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 1024 1024">
  <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#5b6cff"/><stop offset="1" stop-color="#8c3bd9"/></linearGradient></defs>
  <rect x="64" y="64" width="896" height="896" rx="200" fill="url(#g)"/>
  <path d="M232 300h560a72 72 0 0 1 72 72v272a72 72 0 0 1-72 72H452l-148 116v-116h-72a72 72 0 0 1-72-72V372a72 72 0 0 1 72-72z" fill="#fff"/>
  <g stroke="#6a55ec" stroke-width="22" stroke-linecap="round"><line x1="352" y1="508" x2="512" y2="508"/><line x1="512" y1="508" x2="672" y2="508"/></g>
  <g fill="#6a55ec"><circle cx="352" cy="508" r="56"/><circle cx="512" cy="508" r="56"/><circle cx="672" cy="508" r="56"/></g>
</svg>`

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' })
try {
  const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE } })
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`)
  await fs.mkdir(path.dirname(ICON_PATH), { recursive: true })
  await page.screenshot({ path: ICON_PATH, omitBackground: true, clip: { x: 0, y: 0, width: SIZE, height: SIZE } })
} finally {
  await browser.close()
}
console.log(`wrote ${path.relative(process.cwd(), ICON_PATH)}`)
