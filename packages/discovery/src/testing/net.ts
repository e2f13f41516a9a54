// Socket helpers for tests. Everything here stays on the loopback interface.
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import type { DiscoveredPeer, LanDiscovery } from '../lan-discovery.ts'

/** A UDP port nothing on 127.0.0.1 is using right now (bound, read back, released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const { port } = socket.address()
  socket.close()
  await once(socket, 'close')
  return port
}

/** A bare UDP socket on 127.0.0.1 for sending hand-made packets; closed when the test ends. */
export async function loopbackSender(t: { after(fn: () => Promise<void>): void }): Promise<(packet: Uint8Array, port: number) => Promise<void>> {
  const socket: Socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  t.after(async () => {
    socket.close()
    await once(socket, 'close')
  })
  return (packet, port) =>
    new Promise((resolve, reject) => socket.send(packet, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())))
}

/** The next 'peer' event that matches, however many others come first. */
export function nextPeer(discovery: LanDiscovery, matches: (peer: DiscoveredPeer) => boolean = () => true): Promise<DiscoveredPeer> {
  return new Promise((resolve) => {
    const listener = (peer: DiscoveredPeer) => {
      if (!matches(peer)) return
      discovery.off('peer', listener)
      resolve(peer)
    }
    discovery.on('peer', listener)
  })
}

/** Records every 'peer' event from now on. */
export function recordPeers(discovery: LanDiscovery): DiscoveredPeer[] {
  const peers: DiscoveredPeer[] = []
  discovery.on('peer', (peer) => peers.push(peer))
  return peers
}

/**
 * Whether multicast sent out of the loopback interface comes back to a socket that joined
 * the group there: Linux allows it, but some sandboxes and kernels don't. Waits at most
 * `deadline` ms for the one datagram it sends.
 */
export async function loopbackMulticastWorks(group = '224.0.0.251', deadline = 1000): Promise<{ ok: boolean; reason?: string }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  try {
    socket.bind(0, '0.0.0.0')
    await once(socket, 'listening')
    socket.addMembership(group, '127.0.0.1')
    socket.setMulticastInterface('127.0.0.1')
    socket.setMulticastLoopback(true)
    const received = once(socket, 'message').then(() => true, () => false)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadline)))
    socket.send('hearsay multicast probe', socket.address().port, group)
    const ok = await Promise.race([received, timedOut])
    clearTimeout(timer)
    return ok ? { ok } : { ok, reason: `nothing sent to ${group} on 127.0.0.1 came back within ${deadline} ms` }
  } catch (error) {
    return { ok: false, reason: `cannot multicast on 127.0.0.1: ${(error as Error).message}` }
  } finally {
    socket.close()
  }
}
