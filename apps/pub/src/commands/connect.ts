import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, resolveDataDir } from '../data.ts'
import { usageError } from '../errors.ts'
import { callPeer, withRunningPeer } from '../running.ts'

export const connect = defineCommand({
  name: 'connect',
  summary: 'have the running peer connect to another peer, and remember it',
  usage: 'connect ADDR [--kind KIND] [--once] [--json] [--data DIR]',
  maxPositionals: 1,
  description: `
Asks the peer running on the data directory (\`hearsay start\`) to connect to ADDR,
a net:HOST:PORT~shs:KEY address, or tunnel:@ROOM:@TARGET~shs:TARGET for a peer met
through a room the running peer is in (kind room unless --kind says otherwise), and
replicate with it. Once connected, the address
is remembered in the store, so the peer redials it whenever the connection drops,
also after a restart (backing off while it cannot be reached); --once connects
without remembering. \`hearsay conn.forget ADDR\` forgets an address again.`,
  options: {
    kind: { type: 'string', value: 'KIND', description: 'what the peer is: manual (the default; room for a tunnel: address), pub, lan or room' },
    once: { type: 'boolean', description: 'connect now, but do not remember the address' },
    json: { type: 'boolean', description: 'print {"id", "address"} as JSON' },
    ...DATA_OPTION,
  },
  examples: ['hearsay connect net:pub.example.org:8008~shs:…= --kind pub', 'hearsay connect net:192.168.1.20:8008~shs:…= --once', 'hearsay connect tunnel:@room…=.ed25519:@friend…=.ed25519~shs:friend…='],
  async run({ values, positionals }, { env, stdout }) {
    const [text] = positionals
    if (text === undefined) throw usageError('connect needs the ADDR to connect to (see `hearsay connect --help`)')
    // Loaded here so other commands never load the network stack.
    const { parsePeerAddress } = await import('@hearsay/network')
    let address
    try {
      address = parsePeerAddress(text)
    } catch (err) {
      throw usageError((err as Error).message)
    }
    // The peer checks the kind (a bad one is a usage error from it).
    const kind = values.kind ?? (address.address.startsWith('tunnel:') ? 'room' : 'manual')
    const dataDir = resolveDataDir(values.data, env)
    const connected = await withRunningPeer(dataDir, async (peer) => {
      const opened = await callPeer<{ id: string; address: string }>(peer, 'conn.connect', address.address, { type: kind })
      if (!values.once) await callPeer(peer, 'conn.remember', address.address, { type: kind })
      return opened
    })
    await writeLine(stdout, values.json ? JSON.stringify(connected) : `connected to ${connected.id} at ${connected.address}${values.once ? '' : ' (remembered)'}`)
  },
})
