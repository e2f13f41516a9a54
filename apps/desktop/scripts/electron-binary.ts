import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)

/**
 * The Electron executable, or null when it is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD, or
 * an install that skipped its download). Read the way the `electron` package's index.js finds
 * it, without requiring that module: requiring it with the binary missing starts a download.
 */
export function electronBinary(env: NodeJS.ProcessEnv = process.env): string | null {
  let packageDir: string
  try {
    packageDir = path.dirname(require.resolve('electron/package.json'))
  } catch {
    return null
  }
  const pathFile = path.join(packageDir, 'path.txt')
  const executable = existsSync(pathFile) ? readFileSync(pathFile, 'utf8') : null
  const override = env.ELECTRON_OVERRIDE_DIST_PATH
  const binary = override ? path.join(override, executable ?? 'electron') : executable === null ? null : path.join(packageDir, 'dist', executable)
  return binary !== null && existsSync(binary) ? binary : null
}
