// A real `hearsay start` child process on 127.0.0.1 with a temp data dir, as a person runs it,
// started by the CLI's own test helper; this adds the e2e tests' options and names.
// Registers its own teardown on the test context.
import type { FeedId } from '@hearsay/keys'
import { binPath, startHearsay, tempDir, type RunningHearsay, type Teardown } from '../../apps/pub/src/test-helpers.ts'

export { binPath as HEARSAY_BIN, tempDir, type Teardown }

export interface RunningPeer extends RunningHearsay {
  id: FeedId
  /** net:127.0.0.1:PORT~shs:KEY */
  address: string
  /** The unix socket local clients (the owner's tools) connect on. */
  socket: string
  /** The browser address with the secret, when started with web mode. */
  web: string | undefined
  dataDir: string
}

export async function startPeer(
  t: Teardown,
  options: { web?: boolean; peers?: string[]; replicate?: string[]; dataDir?: string } = {},
): Promise<RunningPeer> {
  // A given data dir belongs to the caller; a temp one is removed with the peer.
  const dataDir = options.dataDir ?? (await tempDir(t, 'hearsay-e2e-'))
  const args: string[] = []
  if (options.peers?.length) args.push('--peers', options.peers.join(','))
  if (options.replicate?.length) args.push('--replicate', options.replicate.join(','))
  if (options.web) args.push('--web', '0')
  const running = await startHearsay(t, dataDir, ...args)
  const { id, address, socket, web } = running.ready
  return { ...running, id: id as FeedId, address, socket, web, dataDir }
}
