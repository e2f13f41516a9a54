import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { runInNewContext } from 'node:vm'
import { Ajv } from 'ajv'
import yaml from 'js-yaml'
import { buildDesktop, DESKTOP_DIR } from '../scripts/build.ts'
import { nativeFiles, productionPackages } from '../scripts/production-deps.ts'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(DESKTOP_DIR, '../..')
const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, unknown> & {
  directories: { app: string; output: string; buildResources: string }
  icon: string
  asarUnpack: string[]
  linux: { target: string[] }
  mac: { target: string[] }
  win: { target: string[] }
}

/** electron-builder's own asarUnpack matcher for `platform`'s options, over `appDir`. */
function unpackFilter(appDir: string, platform: 'linux' | 'mac' | 'win') {
  const { getFileMatchers } = require('app-builder-lib/out/fileMatcher.js') as {
    getFileMatchers(config: object, name: string, destination: string, options: object): Array<{ createFilter(): (file: string, stat: object) => boolean }> | null
  }
  const matchers = getFileMatchers(config, 'asarUnpack', '/packed', {
    macroExpander: (pattern: string) => pattern,
    customBuildOptions: (config as Record<string, object>)[platform] ?? {},
    globalOutDir: path.join(ROOT, config.directories.output),
    defaultSrc: appDir,
  })
  assert.ok(matchers?.[0], 'asarUnpack is set')
  return matchers[0].createFilter()
}

test('electron-builder.yml is valid against electron-builder’s own schema', () => {
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(schema)
  assert.ok(validate(config), ajv.errorsText(validate.errors, { separator: '\n' }))

  // The check has teeth: a misspelt option is refused.
  assert.equal(validate({ ...config, asarUnpak: [] }), false)
  assert.equal(validate({ ...config, linux: { target: 'AppImage', maintainr: 'x' } }), false)
})

test('it packages the desktop app for Linux, macOS and Windows with its id and icon', () => {
  assert.equal(config.appId, 'social.hearsay.desktop')
  assert.equal(config.productName, 'Hearsay')
  assert.deepEqual(config.linux.target, ['AppImage', 'deb'])
  assert.deepEqual(config.mac.target, ['dmg'])
  assert.deepEqual(config.win.target, ['nsis'])
  const appDir = path.join(ROOT, config.directories.app)
  assert.equal(appDir, DESKTOP_DIR)
  const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { main: string; version: string }
  assert.match(manifest.version, /^\d+\.\d+\.\d+/)
  assert.equal(manifest.main, 'dist/main.mjs')
  // electron-builder makes the .icns and .ico from a PNG of at least 512×512 (1024 here).
  const icon = readFileSync(path.join(ROOT, config.icon))
  assert.deepEqual(icon.subarray(1, 4), Buffer.from('PNG'))
  assert.equal(icon.readUInt32BE(16), 1024, 'width')
  assert.equal(icon.readUInt32BE(20), 1024, 'height')
  assert.equal(path.dirname(path.join(ROOT, config.icon)), path.join(ROOT, config.directories.buildResources))
})

test('every native module the app loads at run time is unpacked from the asar', () => {
  const packages = productionPackages(DESKTOP_DIR)
  const native = packages.map((pkg) => ({ ...pkg, files: nativeFiles(pkg.dir) })).filter((pkg) => pkg.files.length > 0)
  const names = new Set(native.map((pkg) => pkg.name))
  // The ones the peer cannot run without; the search must find at least these.
  for (const name of ['sodium-native', 'classic-level']) assert.ok(names.has(name), `${name} is a native production dependency`)

  for (const platform of ['linux', 'mac', 'win'] as const) {
    const unpacked = unpackFilter(DESKTOP_DIR, platform)
    for (const pkg of native) {
      for (const file of pkg.files) {
        const packed = path.join(DESKTOP_DIR, pkg.appPath, file)
        const stat = statSync(path.join(pkg.dir, file))
        assert.ok(unpacked(packed, stat), `${platform}: ${pkg.appPath}/${file} must be covered by asarUnpack`)
      }
    }
    // And nothing pure-JS is unpacked by accident: the matcher is not simply "everything".
    assert.equal(unpacked(path.join(DESKTOP_DIR, 'node_modules/pull-stream/index.js'), statSync(require.resolve('pull-stream'))), false)
  }
})

test('every native addon ships prebuilds for each installer’s platform, so nothing is recompiled (npmRebuild: false)', () => {
  assert.equal((config as Record<string, unknown>).npmRebuild, false)
  const addons = productionPackages(DESKTOP_DIR).filter((pkg) => nativeFiles(pkg.dir).some((file) => file.endsWith('.node')))
  assert.ok(addons.length > 0)
  for (const pkg of addons) {
    const prebuilds = new Set(nativeFiles(pkg.dir).filter((file) => file.startsWith('prebuilds/') && file.endsWith('.node')).map((file) => file.split('/')[1]))
    for (const platform of ['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64']) {
      const [os, arch] = platform.split('-') as [string, string]
      const covered = [...prebuilds].some((dir) => dir === platform || (dir?.startsWith(`${os}-`) && dir.slice(os.length + 1).split('+').includes(arch)))
      assert.ok(covered, `${pkg.appPath} has no ${platform} prebuild (found: ${[...prebuilds].join(', ')})`)
    }
  }
})

test('the bundles load only electron, node builtins and production dependencies; the preload only electron', async (t) => {
  const outDir = path.join(DESKTOP_DIR, 'dist', `.test-${process.pid}`)
  t.after(() => import('node:fs').then(({ promises }) => promises.rm(outDir, { recursive: true, force: true })))
  const built = await buildDesktop(outDir)
  assert.ok(existsSync(built.main) && existsSync(built.preload))

  const external = (metafile: typeof built.metafiles.main) =>
    new Set(Object.values(metafile.outputs).flatMap((output) => output.imports.filter((entry) => entry.external).map((entry) => entry.path)))

  assert.deepEqual([...external(built.metafiles.preload)], ['electron'])
  const preload = readFileSync(built.preload, 'utf8')
  assert.deepEqual([...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((match) => match[1]), ['electron'])
  assert.doesNotMatch(preload, /^\s*(import|export)\s/m, 'CommonJS only')

  // Run the built preload the way a sandboxed renderer does: `require` knows only `electron`.
  const exposed: Array<[string, object]> = []
  const sent: string[] = []
  const sandboxedRequire = (name: string) => {
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`)
    return {
      contextBridge: { exposeInMainWorld: (key: string, api: object) => exposed.push([key, api]) },
      ipcRenderer: { on: () => undefined, send: (channel: string) => sent.push(channel) },
    }
  }
  const module = { exports: {} }
  runInNewContext(preload, { require: sandboxedRequire, module, exports: module.exports })
  assert.deepEqual(exposed.map(([key, api]) => [key, Object.keys(api).sort()]), [['hearsay', ['onClose', 'onResponse', 'send']]])
  assert.deepEqual(sent, ['hearsay:connect'])

  const production = new Set(productionPackages(DESKTOP_DIR).map((pkg) => pkg.name))
  const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')
  for (const specifier of external(built.metafiles.main)) {
    if (specifier === 'electron' || specifier.startsWith('node:')) continue
    assert.ok(production.has(packageName(specifier)), `main loads ${specifier}, which is not a production dependency of @hearsay/desktop`)
  }
  // The utility process's entry runs the sources through tsx, so tsx must ship too.
  assert.ok(production.has('tsx'))
})
