// Runs a reference room attendant for the room tests: secret-stack with ssb-conn and ssb-room's
// own tunnel client (the one ssb-room-client grew from), all resolved from ssb-room@1.3.0's
// dependencies, accepting tunnelled connections with secret-handshake as ssb-room documents.
//   node --import tsx ssb-room-attendant.ts DIR ROOM_ADDRESS [dial]
// It connects to the room, and with `dial` also dials every attendant the room lists. Prints one
// JSON line {"id"} once up, then {"connected": ADDRESS, "key"} for each tunnelled peer; exits on
// SIGTERM or when stdin closes.
import { createRequire } from 'node:module'
import path from 'node:path'
import { closeWhenParentLeaves } from './child-server.ts'

const [dir, roomAddress, mode] = process.argv.slice(2)
if (dir === undefined || roomAddress === undefined) {
  process.stderr.write('usage: ssb-room-attendant.ts DIR ROOM_ADDRESS [dial]\n')
  process.exit(2)
}

const fromHere = createRequire(import.meta.url)
const roomMain = fromHere.resolve('ssb-room')
const fromRoom = createRequire(roomMain)
const pull = fromRoom('pull-stream')
const keys = fromRoom('ssb-keys').loadOrCreateSync(path.join(dir, 'secret'))

const server = fromRoom('secret-stack')({ appKey: fromRoom('ssb-caps').shs })
  .use(fromRoom('ssb-master'))
  .use(fromRoom('ssb-conn'))
  .use(fromRoom(path.join(path.dirname(roomMain), 'tunnel/client.js')))({
    path: dir,
    keys,
    logging: { level: 'error' },
    conn: { autostart: false },
    timers: { inactivity: -1, handshake: 15_000 },
    connections: {
      incoming: { tunnel: [{ scope: 'public', transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }], tunnel: [{ transform: 'shs' }] },
    },
  })

process.stdout.write(`${JSON.stringify({ id: server.id })}\n`)
pull(
  server.conn.hub().listen(),
  pull.drain((event: { type: string; address: string; key?: string }) => {
    if (event.type === 'connected' && event.address.startsWith('tunnel:')) process.stdout.write(`${JSON.stringify({ connected: event.address, key: event.key })}\n`)
  }),
)
if (mode === 'dial') {
  pull(
    server.conn.staging().liveEntries(),
    pull.drain((entries: Array<[string, { type?: string }]>) => {
      for (const [address, data] of entries) if (data.type === 'room-endpoint') server.conn.connect(address, () => {})
    }),
  )
}
server.conn.connect(roomAddress, (err: Error | null) => {
  if (err) process.stderr.write(`could not connect to the room: ${err.message}\n`)
})

closeWhenParentLeaves(server)
