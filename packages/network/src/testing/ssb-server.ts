// Runs the reference peer, ssb-server@16, in this process for the interop tests:
//   node --import tsx ssb-server.ts DIR PORT [CAPS] [ebt] [invite]
// It loads ssb-db (ssb-server's core), ssb-master (its own key gets every method), ssb-gossip
// (gossip.connect), ssb-replicate (createHistoryStream replication of the feeds it follows) and
// ssb-friends 4.3 (which tells ssb-replicate whom to follow), but NOT ssb-ebt unless the last
// argument is `ebt`: without it, replication with it is the legacy createHistoryStream kind. It listens on 127.0.0.1:PORT only, prints one
// JSON line {"id", "address"} once listening, and exits on SIGTERM or when stdin closes.
import { createRequire } from 'node:module'
import path from 'node:path'
import { announceWhenListening, closeWhenParentLeaves } from './child-server.ts'

// `ebt` adds ssb-ebt; `invite` adds ssb-invite, allowed to make codes for 127.0.0.1 (allowPrivate);
// `blobs` adds ssb-blobs.
const [dir, portText, caps = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', ...plugins] = process.argv.slice(2)
if (dir === undefined || portText === undefined) {
  process.stderr.write('usage: ssb-server.ts DIR PORT [CAPS]\n')
  process.exit(2)
}
const port = Number(portText)

// Every plugin is resolved from ssb-server's own dependencies, so the versions are its own.
const fromHere = createRequire(import.meta.url)
const fromServer = createRequire(fromHere.resolve('ssb-server'))
// ssb-invite's accept adds the pub to ssb-gossip by multiserver address, an entry with no
// `host`; once that pub is connected, ssb-gossip's scheduler asks `ip.isPrivate(undefined)`,
// which ip 1.1.8 (ssb-server@16's day) answered false and ip 1.1.9 (what npm installs now)
// throws on, killing the server at a random tick. Answer as ssb-server was released against.
const ip = createRequire(fromServer.resolve('ssb-gossip'))('ip') as { isPrivate(addr: unknown): boolean }
const isPrivate = ip.isPrivate.bind(ip)
ip.isPrivate = (addr) => typeof addr === 'string' && isPrivate(addr)
const ssbKeys = fromServer('ssb-keys')
const keys = ssbKeys.loadOrCreateSync(path.join(dir, 'secret'))

let createServer = fromServer('ssb-server')
  .use(fromServer('ssb-master'))
  .use(fromServer('ssb-gossip'))
  .use(fromServer('ssb-replicate'))
// ssb-ebt after ssb-replicate, whose requests it hooks, as ssb-server's own bin loads them.
if (plugins.includes('ebt')) createServer = createServer.use(fromServer('ssb-ebt'))
createServer = createServer.use(fromServer('ssb-friends'))
if (plugins.includes('invite')) createServer = createServer.use(fromServer('ssb-invite'))
if (plugins.includes('blobs')) createServer = createServer.use(fromServer('ssb-blobs'))

const server = createServer({
  path: dir,
  keys,
  host: '127.0.0.1',
  port,
  caps: { shs: caps, sign: null },
  // No idle timeout: live replication may be quiet for a while between messages.
  timers: { inactivity: -1, handshake: 15_000 },
  connections: {
    // ssb-invite makes codes only for a 'local' (or public) address: still 127.0.0.1 here.
    incoming: { net: [{ scope: plugins.includes('invite') ? ['device', 'local'] : 'device', host: '127.0.0.1', port, transform: 'shs' }] },
    outgoing: { net: [{ transform: 'shs' }] },
  },
  friends: { hops: 2 },
  gossip: { connections: 3 },
  logging: { level: 'error' },
  allowPrivate: plugins.includes('invite'),
})

announceWhenListening(server, port, () => ({ id: server.id, address: server.getAddress('device') }))

closeWhenParentLeaves(server)
