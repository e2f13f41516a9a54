// Runs the reference room server, ssb-room@1.3.0, for the room tests:
//   node --import tsx ssb-room.ts DIR PORT
// It composes the very plugins ssb-room's index.js does (secret-stack, ssb-master, ssb-logging,
// ssb-conn, its invite, tunnel server and shims), all resolved from ssb-room's own dependencies,
// but not its web front end (an HTTP server on a fixed port, no part of the tunnel protocol),
// and listens on 127.0.0.1:PORT only. Prints one JSON line {"id", "address"} once listening and
// exits on SIGTERM or when stdin closes.
import { createRequire } from 'node:module'
import path from 'node:path'
import { announceWhenListening, closeWhenParentLeaves } from './child-server.ts'

const [dir, portText] = process.argv.slice(2)
if (dir === undefined || portText === undefined) {
  process.stderr.write('usage: ssb-room.ts DIR PORT\n')
  process.exit(2)
}
const port = Number(portText)

const fromHere = createRequire(import.meta.url)
const roomMain = fromHere.resolve('ssb-room')
const fromRoom = createRequire(roomMain)
const roomDir = path.dirname(roomMain)
const keys = fromRoom('ssb-keys').loadOrCreateSync(path.join(dir, 'secret'))

const server = fromRoom('secret-stack')({ appKey: fromRoom('ssb-caps').shs })
  .use(fromRoom('ssb-master'))
  .use(fromRoom('ssb-logging'))
  .use(fromRoom('ssb-conn'))
  .use(fromRoom(path.join(roomDir, 'invite.js')))
  .use(fromRoom(path.join(roomDir, 'tunnel/server.js')))
  .use(fromRoom(path.join(roomDir, 'ssb-shims.js')))({
    path: dir,
    keys,
    host: '127.0.0.1',
    port,
    logging: { level: 'error' },
    conn: { autostart: false },
    timers: { inactivity: -1, handshake: 15_000 },
    connections: {
      incoming: { net: [{ scope: 'device', transform: 'shs', port, host: '127.0.0.1' }] },
      outgoing: { net: [{ transform: 'shs' }] },
    },
  })

announceWhenListening(server, port, () => ({ id: server.id, address: server.getAddress('device') }))

closeWhenParentLeaves(server)
