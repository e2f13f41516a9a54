// Reclaims a feed and dies (SIGKILL: no cleanup, no close) as the first rebuilt index reports in,
// for reclaim.test.ts: `reclaim-child.ts <store path> <feed id>`.
import type { FeedId } from '@hearsay/keys'
import { openStore, reclaimFeeds } from '../index.ts'

const [storePath, feed] = process.argv.slice(2)
const store = await openStore({ path: storePath! })
await reclaimFeeds(store, [feed as FeedId], () => process.kill(process.pid, 'SIGKILL'))
console.error('the reclaim finished without reporting progress')
process.exit(1)
