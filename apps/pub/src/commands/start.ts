import path from 'node:path'
import { capsKey, generateIdentity, isFeedId, type FeedId } from '@hearsay/keys'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, initialiseDataDir, isUninitialised, loadIdentity, resolveDataDir, withStore } from '../data.ts'
import { usageError } from '../errors.ts'

export const DEFAULT_PORT = 8008

export const start = defineCommand({
  name: 'start',
  summary: 'run the peer: listen, connect and replicate until stopped',
  usage: 'start [--host HOST] [--port PORT] [--peers ADDRS] [--replicate IDS] [--hops N] [--caps KEY] [--data DIR]',
  description: `
Runs this data directory's peer in the foreground; on first use (no data directory,
or an empty one) it creates your identity there first, as \`hearsay init\` would. It listens for secret-handshake
connections (net:HOST:PORT~shs:KEY), dials the --peers and keeps redialing them,
serves the ssb-server-shaped RPC (the owner's key, as a local client, gets every
method; other peers only replication and gossip) and replicates: your own feed,
the feeds you follow up to --hops away, and the --replicate feeds, never blocked ones.

Local clients (the owner's other tools) connect without a handshake on the unix
socket DIR/socket, which only the owner can open, and get every method.

Prints one JSON line {"event": "ready", "id", "address", "socket"} once listening
("created": DIR too, when it made the identity),
then one JSON line per event (connections, replication, peers cut off for breaking
the protocol). SIGINT or SIGTERM stops it cleanly.`,
  options: {
    host: { type: 'string', value: 'HOST', description: 'interface to listen on (default 127.0.0.1)' },
    port: { type: 'string', value: 'PORT', description: `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)` },
    peers: { type: 'string', value: 'ADDRS', description: 'comma-separated net:HOST:PORT~shs:KEY addresses to stay connected to' },
    replicate: { type: 'string', value: 'IDS', description: 'comma-separated feed ids to replicate whatever the follow graph says' },
    hops: { type: 'string', value: 'N', description: 'follow-graph distance to replicate (default 2)' },
    caps: { type: 'string', value: 'KEY', description: 'secret-handshake caps key of a private network (base64; default: the main network)' },
    ...DATA_OPTION,
  },
  examples: ['hearsay start', 'hearsay start --port 0 --peers net:127.0.0.1:8008~shs:…=', 'hearsay start --replicate @…=.ed25519 --hops 1'],
  async run({ values }, { env, stdout }) {
    const port = values.port === undefined ? DEFAULT_PORT : integer('--port', values.port, 0, 65535)
    const hops = values.hops === undefined ? undefined : integer('--hops', values.hops, 0, 10)
    const feeds = list(values.replicate).map((id) => {
      if (!isFeedId(id)) throw usageError(`--replicate: not a feed id (@<base64 32 bytes>.ed25519): ${JSON.stringify(id)}`)
      return id as FeedId
    })
    // Loaded here so other commands never load the network stack.
    const { Peer, parseAddress } = await import('@hearsay/network')
    const peers = list(values.peers)
    for (const address of peers) {
      try {
        parseAddress(address)
      } catch (err) {
        throw usageError(`--peers: ${(err as Error).message}`)
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
    // As ssb-server does, the first start makes the identity; only where nothing exists yet,
    // never beside a secret whose store is gone (that would restart the feed and fork it).
    const created = await isUninitialised(dataDir)
    if (created) await initialiseDataDir(dataDir, generateIdentity())
    const identity = await loadIdentity(dataDir)

    await withStore(dataDir, identity, async (store) => {
      const peer = new Peer({
        store,
        identity,
        host: values.host ?? '127.0.0.1',
        port,
        peers,
        replicate: { feeds, ...(hops !== undefined ? { hops } : {}) },
        localSocket: path.join(dataDir, 'socket'),
        ...(values.caps !== undefined ? { caps: values.caps } : {}),
      })
      // Lines are written in order, each whole, however fast events come.
      let output = Promise.resolve()
      const log = (line: object) => {
        output = output.then(() => writeLine(stdout, JSON.stringify(line)))
      }
      peer.on('event', (event) => {
        if (event.event !== 'listening') log({ time: new Date().toISOString(), ...event })
      })
      const stopped = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
      })
      try {
        await peer.start()
        log({ event: 'ready', id: identity.id, address: peer.address, socket: peer.localSocket, ...(created ? { created: dataDir } : {}) })
        const signal = await stopped
        log({ time: new Date().toISOString(), event: 'stopping', signal })
      } finally {
        await peer.stop()
      }
      await output
    })
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
