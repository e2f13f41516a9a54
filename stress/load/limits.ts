// The pub's inbound limits under the real CLI: sockets over a bound are closed on arrival, the
// connections admitted keep working, and once they close newcomers get in.
import net from 'node:net'
import { setTimeout as pause } from 'node:timers/promises'
import type { StressRow } from '../harness.ts'
import { connectPeer, type PeerClient } from './clients.ts'
import { startPub } from './pub.ts'

const MAX_CONNECTIONS = 4
const MAX_PER_ADDRESS = 5
const MAX_HANDSHAKES = 2
/** How soon a refused socket must be closed: at once, not after a handshake timeout. */
const REFUSAL_WITHIN_MS = 1000

interface RawSocket {
  socket: net.Socket
  closed: Promise<void>
  readonly isClosed: boolean
}

function rawSocket(port: number): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let isClosed = false
    const closed = new Promise<void>((done) => socket.once('close', () => {
      isClosed = true
      done()
    }))
    socket.on('error', () => {})
    socket.once('connect', () => resolve({ socket, closed, get isClosed() { return isClosed } }))
    socket.once('error', reject)
  })
}

function closedWithin(raw: RawSocket, ms: number): Promise<boolean> {
  return Promise.race([raw.closed.then(() => true), pause(ms).then(() => false)])
}

/** Whether `client` still answers a call: its `manifest`. */
function answers(client: PeerClient): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000)
    ;(client.rpc.manifest as (cb: (err: unknown, value: unknown) => void) => void)((err, manifest) => {
      clearTimeout(timer)
      resolve(!err && typeof manifest === 'object' && manifest !== null)
    })
  })
}

export async function checkLimits(): Promise<StressRow> {
  const failures: string[] = []
  const raws: RawSocket[] = []
  const clients: PeerClient[] = []
  let tried = 0
  const pub = await startPub({
    startArgs: ['--max-connections', String(MAX_CONNECTIONS), '--max-per-address', String(MAX_PER_ADDRESS), '--max-handshakes', String(MAX_HANDSHAKES)],
  })
  const raw = async () => {
    tried++
    const opened = await rawSocket(pub.port)
    raws.push(opened)
    return opened
  }
  const peer = async () => {
    tried++
    const client = await connectPeer(pub.address)
    clients.push(client)
    return client
  }
  try {
    // Silent sockets take every handshake slot: more are closed on arrival.
    const holding = [await raw(), await raw()]
    const excess = [await raw(), await raw(), await raw()]
    const refusedAtOnce = await Promise.all(excess.map((socket) => closedWithin(socket, REFUSAL_WITHIN_MS)))
    if (!refusedAtOnce.every(Boolean)) failures.push(`${refusedAtOnce.filter((closed) => !closed).length} of 3 sockets over ${MAX_HANDSHAKES} handshakes stayed open`)
    if (holding.some((socket) => socket.isClosed)) failures.push('a socket within the handshake limit was closed')
    for (const socket of holding) socket.socket.destroy()
    await Promise.all(holding.map((socket) => socket.closed))
    await pause(200)

    // Freed slots admit real peers, up to --max-connections; one more is turned away.
    const admitted: PeerClient[] = []
    for (let i = 0; i < MAX_CONNECTIONS; i++) admitted.push(await peer())
    for (const [i, client] of admitted.entries()) if (!(await answers(client))) failures.push(`admitted peer ${i + 1} does not answer`)
    const extra = await peer().then(async (client) => answers(client), () => false)
    if (extra) failures.push(`a peer over --max-connections ${MAX_CONNECTIONS} was served`)

    // Four peers and one handshaking socket reach --max-per-address: the next socket is closed on arrival.
    const fifth = await raw()
    const sixth = await raw()
    if (!(await closedWithin(sixth, REFUSAL_WITHIN_MS))) failures.push(`a socket over --max-per-address ${MAX_PER_ADDRESS} stayed open`)
    if (fifth.isClosed) failures.push('a socket within --max-per-address was closed')
    for (const [i, client] of admitted.entries()) if (!(await answers(client))) failures.push(`admitted peer ${i + 1} stopped answering under the refusals`)

    // Once the admitted leave, newcomers get in.
    fifth.socket.destroy()
    const disconnectedBefore = pub.counts.get('disconnected') ?? 0
    for (const client of admitted) await client.close()
    await Promise.race([pub.eventCount('disconnected', disconnectedBefore + MAX_CONNECTIONS), pause(5000)])
    await pause(200)
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const client = await peer().catch((err: unknown) => {
        failures.push(`newcomer ${i + 1} was refused after the slots were freed: ${(err as Error).message}`)
        return null
      })
      if (client && !(await answers(client))) failures.push(`newcomer ${i + 1} does not answer`)
    }

    const reasons = pub.refusals.map((event) => String(event.reason))
    const expected = [
      ...Array(3).fill(`over the limit of ${MAX_HANDSHAKES} handshakes at once`),
      `over the limit of ${MAX_PER_ADDRESS} connections from one address`,
    ]
    if (JSON.stringify(reasons) !== JSON.stringify(expected)) failures.push(`the pub logged refusals ${JSON.stringify(reasons)}, not ${JSON.stringify(expected)}`)
    return {
      target: `load: inbound limits (${MAX_CONNECTIONS} peers, ${MAX_PER_ADDRESS}/address, ${MAX_HANDSHAKES} handshakes)`,
      tried,
      unit: 'connections',
      detail: `${reasons.length} refused on arrival, 1 peer refused by key · admitted peers kept answering · ${MAX_CONNECTIONS} newcomers admitted once freed`,
      failures,
    }
  } finally {
    for (const socket of raws) socket.socket.destroy()
    await Promise.all(clients.map((client) => client.close()))
    await pub.stop()
  }
}
