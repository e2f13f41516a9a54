// Runs in Electron's utility process (a Node process apart from the window and the main process),
// so LevelDB and crypto never block either of them.
import { defaultDataDir, startApp } from '@hearsay/service'
import { runBackend } from './backend.ts'

/**
 * The desktop peer listens on every interface, as Patchwork does, so laptops on one router find
 * each other (LAN discovery only runs where the LAN can reach us). HEARSAY_HOST overrides it,
 * e.g. 127.0.0.1 to stay invisible on the network.
 */
const host = process.env.HEARSAY_HOST || '0.0.0.0'

await runBackend(process.parentPort, () => startApp({ dataDir: defaultDataDir(), host }), (code) => process.exit(code))
