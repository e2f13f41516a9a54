import { capsKey, isFeedId, type FeedId } from '@hearsay/keys'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, resolveDataDir } from '../data.ts'
import { CliError, EXIT_FAILURE, usageError } from '../errors.ts'

export const DEFAULT_PORT = 8008

export const start = defineCommand({
  name: 'start',
  summary: 'run the peer: listen, connect and replicate until stopped',
  usage: 'start [--host HOST] [--port PORT] [--peers ADDRS] [--replicate IDS] [--hops N] [--caps KEY] [--max-connections N] [--max-per-address N] [--max-handshakes N] [--pub [--room]] [--external HOST] [--rooms ADDRS] [--no-lan] [--web [WEBPORT]] [--data DIR]',
  maxPositionals: 1,
  description: `
Runs this data directory's peer in the foreground; on first use (no data directory,
or an empty one) it creates your identity there first, as \`hearsay init\` would. It listens for secret-handshake
connections (net:HOST:PORT~shs:KEY), dials the --peers and keeps redialing them,
serves the ssb-server-shaped RPC (the owner's key, as a local client, gets every
method; other peers only replication and gossip) and replicates: your own feed,
the feeds you follow up to --hops away, and the --replicate feeds, never blocked ones.

Listening on an address the LAN reaches (--host 0.0.0.0 or a LAN IP), it announces
itself there (ssb-lan's UDP beacons on ports 8008 and 26830, and mDNS) and dials the
peers it hears of, as kind lan; --no-lan turns that off.

With --rooms it stays in those rooms (an ssb-room server, or a pub started with
--pub --room) and meets there, through end-to-end encrypted tunnels, the peers whose
feeds it replicates, even when neither can dial the other; they show as kind room.

Sockets that dial it are bounded before any handshake: --max-per-address from one
IP address, --max-handshakes handshaking at once, and --max-connections plus
--max-handshakes in all; one over a bound is closed at once and logged as refused.

Local clients (the owner's other tools) connect without a handshake on the unix
socket DIR/socket, which only the owner can open, and get every method.

With --web, it also serves the app in your browser on 127.0.0.1 (WEBPORT, default
a free port) and prints the address to open, secret included, on one line of stderr:
other local users and websites cannot use it without that secret.

Prints one JSON line {"event": "ready", "id", "address", "socket"} once listening
("created": DIR too, when it made the identity; "web": the browser address with --web),
then one JSON line per event (connections, replication, peers cut off for breaking
the protocol). SIGINT or SIGTERM stops it cleanly.`,
  options: {
    host: { type: 'string', value: 'HOST', description: 'interface to listen on (default 127.0.0.1)' },
    port: { type: 'string', value: 'PORT', description: `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)` },
    peers: { type: 'string', value: 'ADDRS', description: 'comma-separated net:HOST:PORT~shs:KEY addresses to stay connected to (remembered for later starts too)' },
    replicate: { type: 'string', value: 'IDS', description: 'comma-separated feed ids to replicate whatever the follow graph says' },
    hops: { type: 'string', value: 'N', description: 'follow-graph distance to replicate (default 2)' },
    caps: { type: 'string', value: 'KEY', description: 'secret-handshake caps key of a private network (base64; default: the main network)' },
    'max-connections': { type: 'string', value: 'N', description: 'most peers connected at once (default 8)' },
    'max-per-address': { type: 'string', value: 'N', description: 'most sockets open at once from one IP address (default 8)' },
    'max-handshakes': { type: 'string', value: 'N', description: 'most handshakes in progress at once (default 16)' },
    external: { type: 'string', value: 'HOST', description: 'the public host name others reach this peer by: what invite codes and the pub announcement carry' },
    pub: { type: 'boolean', description: 'run as a pub: announce the public address (--external, or a public --host) with a `pub` message, once per address' },
    room: { type: 'boolean', description: 'with --pub, also act as a room (ssb-room\'s tunnel protocol, open to everyone connected): peers behind NAT meet each other through it' },
    rooms: { type: 'string', value: 'ADDRS', description: 'comma-separated net:HOST:PORT~shs:KEY addresses of rooms to stay in, meeting there the peers you follow' },
    'no-lan': { type: 'boolean', description: 'do not announce this peer on the LAN, nor dial the peers found there (LAN discovery runs only when --host is not loopback)' },
    web: { type: 'boolean', description: 'also serve the app to your browser on 127.0.0.1 (port: the argument after it, default a free one)' },
    ...DATA_OPTION,
  },
  examples: ['hearsay start', 'hearsay start --web 8080', 'hearsay start --port 0 --peers net:127.0.0.1:8008~shs:…=', 'hearsay start --replicate @…=.ed25519 --hops 1', 'hearsay start --pub --host 0.0.0.0 --external pub.example.org', 'hearsay start --pub --room --host 0.0.0.0 --external pub.example.org', 'hearsay start --rooms net:room.example.org:8008~shs:…='],
  async run({ values, positionals }, { env, stdout, stderr }) {
    const port = values.port === undefined ? DEFAULT_PORT : integer('--port', values.port, 0, 65535)
    if (positionals.length > 0 && !values.web) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])}: only --web takes a port after it`)
    const webPort = values.web ? (positionals[0] === undefined ? 0 : integer('--web', positionals[0], 0, 65535)) : null
    const hops = values.hops === undefined ? undefined : integer('--hops', values.hops, 0, 10)
    const maxConnections = values['max-connections'] === undefined ? undefined : integer('--max-connections', values['max-connections'], 1, 1000)
    const maxPerAddress = values['max-per-address'] === undefined ? undefined : integer('--max-per-address', values['max-per-address'], 1, 10_000)
    const maxHandshakes = values['max-handshakes'] === undefined ? undefined : integer('--max-handshakes', values['max-handshakes'], 1, 10_000)
    const external = values.external
    if (external !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(external)) {
      throw usageError(`--external must be a host name or IPv4 address, not ${JSON.stringify(external)}`)
    }
    const feeds = list(values.replicate).map((id) => {
      if (!isFeedId(id)) throw usageError(`--replicate: not a feed id (@<base64 32 bytes>.ed25519): ${JSON.stringify(id)}`)
      return id as FeedId
    })
    // Loaded here so other commands never load the network stack.
    const { parseAddress, isPublicHost } = await import('@hearsay/network')
    if (values.pub && external === undefined && !isPublicHost(values.host ?? '127.0.0.1')) {
      throw usageError(`--pub needs a public address: give --external HOST (${values.host ?? '127.0.0.1'} is not reachable by others)`)
    }
    if (values.room && !values.pub) throw usageError('--room needs --pub: a room must be reachable by the peers that meet through it')
    const peers = list(values.peers)
    const rooms = list(values.rooms)
    for (const [flag, addresses] of [['--peers', peers], ['--rooms', rooms]] as const) {
      for (const address of addresses) {
        try {
          parseAddress(address)
        } catch (err) {
          throw usageError(`${flag}: ${(err as Error).message}`)
        }
      }
    }
    if (values.caps !== undefined) {
      try {
        capsKey(values.caps)
      } catch (err) {
        throw usageError(`--caps: ${(err as Error).message}`)
      }
    }
    const dataDir = resolveDataDir(values.data, env)
    // Loaded here so other commands never load the peer and its stores.
    const { startApp, startWebBridge, rendererDistDir, WebBridgeError, DataDirError } = await import('@hearsay/service')
    // Lines are written in order, each whole, however fast events come.
    let output = Promise.resolve()
    const log = (line: object) => {
      output = output.then(() => writeLine(stdout, JSON.stringify(line)))
    }
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    const starting = startApp({
      dataDir,
      host: values.host ?? '127.0.0.1',
      port,
      peers,
      rooms,
      replicate: feeds,
      ...(hops !== undefined ? { hops } : {}),
      ...(values.caps !== undefined ? { caps: values.caps } : {}),
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(maxPerAddress !== undefined || maxHandshakes !== undefined
        ? { inbound: { ...(maxPerAddress !== undefined ? { maxPerAddress } : {}), ...(maxHandshakes !== undefined ? { maxHandshakes } : {}) } }
        : {}),
      ...(external !== undefined ? { external } : {}),
      ...(values.pub ? { pub: true } : {}),
      ...(values.room ? { room: true } : {}),
      ...(values['no-lan'] ? { lan: false } : {}),
      onEvent: (event) => {
        if (event.event !== 'listening') log({ time: new Date().toISOString(), ...event })
      },
    })
    const app = await starting.catch((err: unknown) => {
      throw err instanceof DataDirError ? new CliError(err.message, EXIT_FAILURE, { cause: err }) : err
    })
    let web: { url: string; close(): Promise<void> } | null = null
    try {
      if (webPort !== null) {
        try {
          web = await startWebBridge(app, { port: webPort, rendererDir: rendererDistDir() })
        } catch (err) {
          if (err instanceof WebBridgeError) throw new CliError(`--web: ${err.message}`)
          throw err
        }
        // For people, beside the JSON lines on stdout (the ready line carries it too).
        await writeLine(stderr, `Hearsay is open at ${web.url}`)
      }
      log({
        event: 'ready', id: app.id, address: app.peer.address, socket: app.peer.localSocket,
        ...(app.created ? { created: dataDir } : {}), ...(web ? { web: web.url } : {}),
      })
      const signal = await stopped
      log({ time: new Date().toISOString(), event: 'stopping', signal })
    } finally {
      await web?.close()
      await app.close()
    }
    await output
  },
})

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw usageError(`${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`)
  return value
}
