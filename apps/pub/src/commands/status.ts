import type { PeerStatus } from '@hearsay/network'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, resolveDataDir } from '../data.ts'
import { callPeer, withRunningPeer } from '../running.ts'

export const status = defineCommand({
  name: 'status',
  summary: "show the running peer's connections, replication progress and rates",
  usage: 'status [--json] [--data DIR]',
  description: `
Asks the peer running on the data directory (\`hearsay start\`) how it is doing: the
peers it is connected to (how it knows them, which way the connection goes, since
when, messages received and bytes each way), how many feeds it replicates and which
of them a peer holds further than we do, and messages and bytes per second over the
last few seconds. With --json it prints the whole status as JSON, for scripts.
\`hearsay statusStream\` prints it again whenever it changes.`,
  options: {
    json: { type: 'boolean', description: 'print the status as JSON' },
    ...DATA_OPTION,
  },
  examples: ['hearsay status', 'hearsay status --json'],
  async run({ values }, { env, stdout }) {
    const dataDir = resolveDataDir(values.data, env)
    const snapshot = await withRunningPeer(dataDir, (peer) => callPeer<PeerStatus>(peer, 'status'))
    if (values.json) return writeLine(stdout, JSON.stringify(snapshot))
    for (const line of describeStatus(snapshot)) await writeLine(stdout, line)
  },
})

/** The status for people: one line per peer and per feed behind, figures rounded. */
export function describeStatus(status: PeerStatus, now = Date.now()): string[] {
  const lines = [`${status.id} listening on ${status.address ?? '(nothing: it only dials out)'}`]
  const { peers, replication, traffic } = status
  lines.push(`${count(peers.length, 'peer')} connected, ${count(status.remembered, 'peer')} remembered${peers.length > 0 ? ':' : ''}`)
  for (const peer of peers) {
    lines.push(
      `  ${peer.id}  ${peer.kind.padEnd(7)}  ${peer.inbound ? 'in ' : 'out'}  ${peer.address}  for ${duration(now - peer.connectedAt)}` +
        `  ${count(peer.messagesReceived, 'message')}  ${bytes(peer.bytesIn)} in  ${bytes(peer.bytesOut)} out`,
    )
  }
  lines.push(`replicating ${count(replication.wantedFeeds, 'feed')}, ${replication.feedsBehind} behind${replication.feedsBehind > 0 ? ':' : ''}`)
  for (const feed of replication.behind) lines.push(`  ${feed.feed}  have ${feed.have ?? '?'} of ${feed.claimed}`)
  if (replication.feedsBehind > replication.behind.length) lines.push(`  … and ${replication.feedsBehind - replication.behind.length} more`)
  lines.push(
    `received ${count(replication.messagesReceived, 'message')}, ${bytes(traffic.bytesIn)} in, ${bytes(traffic.bytesOut)} out; ` +
      `now ${replication.messagesPerSecond} messages/s, ${bytes(traffic.bytesInPerSecond)}/s in, ${bytes(traffic.bytesOutPerSecond)}/s out`,
  )
  return lines
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function bytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`
  return `${(n / 1e9).toFixed(1)} GB`
}

function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
}
