// Child process of the crash suite: the app's backend (startApp, as `hearsay start` and the
// desktop app run it) publishing posts through the client API's publishPost, several at once,
// printing `published SEQUENCE ID` only once each publish resolved. It runs until killed.
// Usage: node --import tsx publish-child.ts <data dir> <publishes in flight>
import { startApp } from '@hearsay/service'

const [dataDir, inFlightArg] = process.argv.slice(2)
const inFlight = Number(inFlightArg)
if (!dataDir || !Number.isSafeInteger(inFlight) || inFlight < 1) {
  console.error('usage: publish-child.ts <data dir> <publishes in flight>')
  process.exit(2)
}

const app = await startApp({ dataDir, listen: false, lan: false })
process.stdout.write(`ready ${app.id}\n`)
let next = 0
async function publishForever(): Promise<never> {
  for (;;) {
    const post = await app.handlers.publishPost({ text: `crash test post ${next++} from ${process.pid}` })
    process.stdout.write(`published ${post.sequence} ${post.id}\n`)
  }
}
await Promise.all(Array.from({ length: inFlight }, publishForever))
