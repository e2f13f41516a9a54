// `npm start`: the desktop app when Electron's binary is installed; otherwise the same app served
// to the browser by `hearsay start --web`, announced in one line. Arguments after `npm start --`
// go to `hearsay start` in web mode (e.g. `--port 0`, `--data DIR`).
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { buildDesktop, DESKTOP_DIR } from './build.ts'
import { electronBinary } from './electron-binary.ts'

const require = createRequire(import.meta.url)

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Runs `child` to its end, passing Ctrl-C, SIGTERM and a closed terminal on once, and ends as it did. */
function runToEnd(child: ChildProcess): void {
  // A closed terminal becomes SIGTERM, which the peer handles by closing its store cleanly.
  const forward = (signal: NodeJS.Signals) => child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal)
  for (const signal of STOP_SIGNALS) process.on(signal, forward)
  // 'close', not 'exit': the child's output has been read to its end by then.
  child.on('close', (code, signal) => {
    for (const stop of STOP_SIGNALS) process.off(stop, forward)
    process.exitCode = code ?? (signal ? 1 : 0)
  })
}

// On POSIX the child gets its own process group, so a terminal's Ctrl-C reaches it once (from
// us) rather than twice, which would cut its clean shutdown short.
const ownGroup = process.platform !== 'win32'

async function startDesktopApp(binary: string): Promise<void> {
  await buildDesktop()
  const env = { ...process.env }
  delete env.ELECTRON_RUN_AS_NODE
  runToEnd(spawn(binary, [DESKTOP_DIR], { stdio: 'inherit', env, detached: ownGroup }))
}

/**
 * The peer listens on every interface, as the desktop app's does, so LAN peers find it (the web
 * page itself stays on 127.0.0.1); HEARSAY_HOST or `--host` overrides it.
 */
const PEER_HOST = process.env.HEARSAY_HOST || '0.0.0.0'

function startWebMode(args: string[]): void {
  const cli = require.resolve('@hearsay/pub/bin/hearsay.js')
  const child = spawn(process.execPath, [cli, 'start', '--host', PEER_HOST, ...args, '--web'], { stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup })
  let url: string | null = null
  const held: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    // Errors pass through; the CLI's own announcement of the address is the one line below.
    if (url === null) held.push(line)
    else if (!line.includes(url)) console.error(line)
  })
  // stdout is the CLI's JSON lines, for programs; of them only the ready line matters here.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (url !== null) return
    let ready: { event?: unknown; web?: unknown }
    try {
      ready = JSON.parse(line) as typeof ready
    } catch {
      return
    }
    if (ready.event !== 'ready' || typeof ready.web !== 'string') return
    const web = ready.web
    url = web
    console.log(`Hearsay's desktop binary (Electron) is not installed, so the app is served to your browser instead: open ${web}`)
    for (const heldLine of held.splice(0)) if (!heldLine.includes(web)) console.error(heldLine)
  })
  // Never got going (a bad argument, a locked data directory): say why.
  child.on('close', () => {
    for (const heldLine of held.splice(0)) console.error(heldLine)
  })
  runToEnd(child)
}

const binary = electronBinary()
if (binary) await startDesktopApp(binary)
else startWebMode(process.argv.slice(2))
