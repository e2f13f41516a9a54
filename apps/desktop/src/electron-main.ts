// The Electron main process's entry (bundled to dist/main.mjs by scripts/build.ts).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, ipcMain, MessageChannelMain, net, protocol, session, shell, utilityProcess } from 'electron'
import { startDesktop } from './main.ts'

const distDir = path.dirname(fileURLToPath(import.meta.url))

/**
 * Packaged, esbuild's executable (which tsx runs) is unpacked beside the asar, where Node's
 * module resolution does not look; esbuild is told where it is instead.
 */
function packagedBackendEnv(): NodeJS.ProcessEnv {
  const unpacked = path.join(process.resourcesPath, 'app.asar.unpacked', 'node_modules', '@esbuild', `${process.platform}-${process.arch}`)
  const binary = process.platform === 'win32' ? path.join(unpacked, 'esbuild.exe') : path.join(unpacked, 'bin', 'esbuild')
  return { ...process.env, ESBUILD_BINARY_PATH: binary }
}

const desktop = startDesktop(
  { app, BrowserWindow, ipcMain, MessageChannelMain, net, protocol, session, shell, utilityProcess },
  {
    preload: path.join(distDir, 'preload.cjs'),
    backend: path.join(distDir, '..', 'entry', 'utility.mjs'),
    // Packaged, the renderer ships beside the asar as a resource (electron-builder.yml).
    rendererDir: app.isPackaged ? path.join(process.resourcesPath, 'renderer') : path.resolve(distDir, '../../../packages/renderer/dist'),
    ...(app.isPackaged ? { backendEnv: packagedBackendEnv() } : {}),
  },
)

desktop?.ready.catch((err: unknown) => {
  console.error('Hearsay could not open its window:', err)
  app.exit(1)
})
