// The packages the packaged app loads at run time: the desktop app's production dependencies,
// followed through node_modules the way Node resolves them (workspace links included), and which
// of them carry native code that must be unpacked from the asar.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'

export interface InstalledPackage {
  name: string
  /** Where it really is on disk. */
  dir: string
  /** Where the app's files see it: `node_modules/a/node_modules/b`, as packed into the asar. */
  appPath: string
}

interface Manifest {
  name?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  gypfile?: boolean
  os?: string[]
  cpu?: string[]
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest
}

/** The folder `name` resolves to from `fromDir`, as Node's lookup up through node_modules finds it. */
function resolvePackage(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (existsSync(path.join(candidate, 'package.json'))) return candidate
    if (path.dirname(dir) === dir) return null
  }
}

/**
 * Every package reachable from `appDir`'s dependencies and optionalDependencies (never its
 * devDependencies). A missing optional dependency (another platform's binary) is skipped; a
 * missing required one throws, since the packaged app would fail to load it.
 */
export function productionPackages(appDir: string): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>()
  const visit = (fromDir: string, fromAppPath: string) => {
    const manifest = manifestOf(fromDir)
    const required = Object.keys(manifest.dependencies ?? {})
    const optional = Object.keys(manifest.optionalDependencies ?? {})
    for (const name of [...required, ...optional]) {
      const located = resolvePackage(name, fromDir)
      if (located === null) {
        if (optional.includes(name)) continue
        throw new Error(`${manifest.name ?? fromDir} depends on ${name}, which is not installed`)
      }
      const dir = realpathSync(located)
      if (found.has(dir)) continue
      // Hoisted packages sit at the top of the app's node_modules; nested ones under their parent.
      const nested = path.relative(fromDir, located).split(path.sep)[0] === 'node_modules'
      const appPath = nested && fromAppPath !== '' ? `${fromAppPath}/node_modules/${name}` : `node_modules/${name}`
      found.set(dir, { name, dir, appPath })
      visit(dir, appPath)
    }
  }
  visit(realpathSync(appDir), '')
  return [...found.values()]
}

/** Files in `dir` (not in its own node_modules) that make it native: addons, their sources, platform executables. */
export function nativeFiles(dir: string): string[] {
  const manifest = manifestOf(dir)
  const files: string[] = []
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`
      if (entry.isDirectory()) walk(child)
      // Prebuilt `.bare` files are for the Bare runtime, which Electron is not: only `.node` counts.
      else if (entry.name.endsWith('.node') || entry.name === 'binding.gyp') files.push(child)
      // A platform package (esbuild's, for one) ships an executable rather than an addon.
      else if ((manifest.os || manifest.cpu) && child.startsWith('bin/')) files.push(child)
    }
  }
  walk('')
  if (manifest.gypfile && files.length === 0) files.push('package.json')
  return files
}
