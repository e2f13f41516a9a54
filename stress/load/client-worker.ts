// A process of load clients, so the pub's clients do not share an event loop with the owner's
// `whoami` timing (which would then measure them, not the pub). Usage:
//   client-worker.ts ADDRESS FIRST COUNT TIMEOUT_MS
// Connects COUNT clients (client FIRST, FIRST+1, …; even ones fetch by createHistoryStream, odd
// ones by EBT) and prints {"connected": n, "errors": [...]}; on a `go` line on stdin they all
// replicate the 10k fixture at once, and it prints {"results": [ClientResult…]} and exits.
import { createInterface } from 'node:readline'
import { connectPeer, indexFixture, replicateByEbt, replicateByHistory, type ClientResult, type PeerClient } from './clients.ts'

const [address, firstText, countText, timeoutText] = process.argv.slice(2)
if (address === undefined || timeoutText === undefined) throw new Error('usage: client-worker.ts ADDRESS FIRST COUNT TIMEOUT_MS')
const first = Number(firstText)
const count = Number(countText)
const timeoutMs = Number(timeoutText)
const index = await indexFixture('10k')
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`)

const errors: string[] = []
const clients = await Promise.all(Array.from({ length: count }, (_, i) => connectPeer(address).catch((err: unknown) => {
  errors.push(`client ${first + i}: could not connect: ${(err as Error).message.split('\n')[0]}`)
  return null
})))
print({ connected: clients.filter((client) => client !== null).length, errors })

const lines = createInterface({ input: process.stdin })
await new Promise<void>((resolve) => lines.once('line', () => resolve()))
lines.close()
const results: ClientResult[] = await Promise.all(clients.flatMap((client: PeerClient | null, i) => {
  if (client === null) return []
  const number = first + i
  return [number % 2 === 0
    ? replicateByHistory(client, index, `client ${number} (createHistoryStream)`, timeoutMs)
    : replicateByEbt(client, index, `client ${number} (EBT)`, timeoutMs)]
}))
print({ results })
process.exit(0)
