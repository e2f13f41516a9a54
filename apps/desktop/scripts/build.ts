// Builds what Electron loads directly: the main process and the window's preload. The peer's
// code is not built (the utility process runs it through tsx, see entry/utility.mjs).
//   tsx apps/desktop/scripts/build.ts [OUT_DIR]     (default: apps/desktop/dist)
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'

export const DESKTOP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Bundles the workspace's own TypeScript (@hearsay/*, which exists only as .ts) and leaves every
 * npm package to be loaded from node_modules at run time, as the production dependencies that
 * electron-builder packs (and unpacks from the asar when they are native).
 */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@hearsay/') ? undefined : { path: args.path, external: true }))
  },
}

export interface DesktopBuild {
  main: string
  preload: string
  metafiles: { main: Metafile; preload: Metafile }
}

export async function buildDesktop(outDir = path.join(DESKTOP_DIR, 'dist')): Promise<DesktopBuild> {
  const main = path.join(outDir, 'main.mjs')
  const preload = path.join(outDir, 'preload.cjs')
  const common = { bundle: true, metafile: true, sourcemap: 'linked', logLevel: 'warning', absWorkingDir: DESKTOP_DIR } as const
  const [mainResult, preloadResult] = await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(DESKTOP_DIR, 'src/electron-main.ts')],
      outfile: main,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      plugins: [npmPackagesExternal],
    }),
    // A sandboxed preload runs in a browser-like context whose `require` knows only `electron`:
    // one CommonJS file, built for the browser so that any Node import fails the build.
    build({
      ...common,
      entryPoints: [path.join(DESKTOP_DIR, 'src/preload.ts')],
      outfile: preload,
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
    }),
  ])
  return { main, preload, metafiles: { main: mainResult.metafile, preload: preloadResult.metafile } }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildDesktop(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
  console.log(`built ${path.relative(process.cwd(), out.main)} and ${path.relative(process.cwd(), out.preload)}`)
}
