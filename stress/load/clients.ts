// The load's clients: each a new identity dialing the pub over real TCP and secret handshake
// with our Transport, speaking muxrpc as a peer does, and checking every message it gets
// against the fixture (its id or signature, and that each feed's sequence runs 1, 2, 3…).
import net from 'node:net'
import createMuxrpc, { type Rpc } from 'muxrpc'
import pull, { type Duplex, type Source } from 'pull-stream'
import { generateIdentity, type FeedId } from '@hearsay/keys'
import { MANIFEST, Transport, connectLocal, holdable, type Connection } from '@hearsay/network'
import { fixtureMessages, type FixtureSize } from '@hearsay/test-fixtures'

/** Each fixture feed's messages in sequence order: their ids and signatures. */
export interface FixtureIndex {
  feeds: Map<FeedId, { keys: string[]; signatures: string[] }>
  total: number
  /** The messages' size as JSON, all together. */
  bytes: number
}

export async function indexFixture(size: FixtureSize): Promise<FixtureIndex> {
  const feeds = new Map<FeedId, { keys: string[]; signatures: string[] }>()
  let total = 0
  let bytes = 0
  for await (const message of fixtureMessages(size)) {
    bytes += JSON.stringify(message).length
    const feed = feeds.get(message.value.author) ?? { keys: [], signatures: [] }
    feeds.set(message.value.author, feed)
    if (message.value.sequence !== feed.keys.length + 1) throw new Error(`the fixture has ${message.value.author} out of order at ${message.value.sequence}`)
    feed.keys.push(message.key)
    feed.signatures.push(message.value.signature)
    total++
  }
  return { feeds, total, bytes }
}

export interface ClientResult {
  /** Messages received that matched the fixture. */
  received: number
  /** One line per thing that went wrong: a wrong or missing message, a stream error, a timeout. */
  errors: string[]
}

export interface PeerClient {
  rpc: Rpc
  connection: Connection
  /** While held, nothing is read from the socket (so the pub's writes back up). */
  holdReading(held: boolean): void
  close(): Promise<void>
}

/**
 * A new identity connected to the pub at `address`, reading its socket unless `held`. It holds
 * no feeds, and says so when the pub asks to replicate from it.
 */
export async function connectPeer(address: string, held = false): Promise<PeerClient> {
  const transport = new Transport({ identity: generateIdentity() })
  let connection: Connection
  try {
    connection = await transport.connect(address)
  } catch (err) {
    await transport.close()
    throw err
  }
  const api = {
    createHistoryStream: () => pull.empty(),
    ebt: { replicate: () => { throw new Error('this load client serves no EBT') } },
  }
  const rpc = createMuxrpc(MANIFEST, MANIFEST, api, null)
  const reading = holdable(connection.stream.source)
  reading.hold(held)
  const wire = { source: reading.source, sink: connection.stream.sink }
  pull(wire, rpc.stream, wire)
  return {
    rpc,
    connection,
    holdReading: (hold) => reading.hold(hold),
    close: async () => {
      rpc.close(true, () => {})
      connection.destroy()
      await transport.close()
    },
  }
}

/** Checks one feed's messages as they come: the right one at each sequence, none skipped. */
class FeedChecker {
  private readonly next = new Map<FeedId, number>()
  received = 0
  constructor(private readonly index: FixtureIndex, private readonly errors: string[], private readonly label: string) {}

  /** `key`: the message id when the stream carries it; else the signature is compared. */
  check(value: { author?: unknown; sequence?: unknown; signature?: unknown }, key?: unknown): void {
    const author = value.author as FeedId
    const feed = this.index.feeds.get(author)
    const expected = this.next.get(author) ?? 1
    if (!feed) return this.fail(`a message of ${String(author).slice(0, 12)}…, not a fixture feed`)
    if (value.sequence !== expected) return this.fail(`${author.slice(0, 12)}… sequence ${String(value.sequence)} where ${expected} was due`)
    if (key !== undefined ? key !== feed.keys[expected - 1] : value.signature !== feed.signatures[expected - 1]) {
      return this.fail(`${author.slice(0, 12)}… message ${expected} is not the fixture's`)
    }
    this.next.set(author, expected + 1)
    this.received++
  }

  /** Errors for every feed not received to its end. */
  finish(): void {
    for (const [author, feed] of this.index.feeds) {
      const got = (this.next.get(author) ?? 1) - 1
      if (got !== feed.keys.length) this.fail(`${author.slice(0, 12)}…: ${got} of ${feed.keys.length} messages`)
    }
  }

  private fail(problem: string): void {
    // One client breaking every message would bury the table: the first few say enough.
    if (this.errors.length < 5) this.errors.push(`${this.label}: ${problem}`)
  }
}

function withTimeout<T>(ms: number, promise: Promise<T>, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)))]).finally(() => clearTimeout(timer))
}

/** Every feed of the fixture by createHistoryStream, all streams at once; then closes `client`. */
export async function replicateByHistory(client: PeerClient, index: FixtureIndex, label: string, timeoutMs: number): Promise<ClientResult> {
  const errors: string[] = []
  const checker = new FeedChecker(index, errors, label)
  try {
    const streams = [...index.feeds.keys()].map((id) => historyOf(client.rpc, id, checker, errors, label))
    const done = await withTimeout(timeoutMs, Promise.all(streams).then(() => true), () => false)
    if (!done) errors.push(`${label}: timed out after ${timeoutMs / 1000} s with ${checker.received} of ${index.total}`)
    checker.finish()
    return { received: checker.received, errors }
  } finally {
    await client.close()
  }
}

interface HistoryItem {
  key?: unknown
  value?: Record<string, unknown>
}

/** One feed by createHistoryStream from its start, each message checked; resolves when it ends. */
function historyOf(rpc: Rpc, id: FeedId, checker: FeedChecker, errors: string[], label: string): Promise<void> {
  return new Promise((resolve) => {
    const source = (rpc.createHistoryStream as (options: unknown) => Source<HistoryItem>)({ id, seq: 1, keys: true })
    pull(
      source,
      pull.drain((message: HistoryItem) => checker.check(message.value ?? {}, message.key), (err) => {
        if (err && errors.length < 5) errors.push(`${label}: the stream of ${id.slice(0, 12)}… failed: ${(err as Error).message ?? String(err)}`)
        resolve()
      }),
    )
  })
}

/** Every feed of the fixture by EBT: one `ebt.replicate` asking for each feed from its start; then closes `client`. */
export async function replicateByEbt(client: PeerClient, index: FixtureIndex, label: string, timeoutMs: number): Promise<ClientResult> {
  const errors: string[] = []
  const checker = new FeedChecker(index, errors, label)
  try {
    const done = await withTimeout(timeoutMs, ebtSession(client.rpc, index, checker, errors, label), () => false)
    if (!done) errors.push(`${label}: timed out after ${timeoutMs / 1000} s with ${checker.received} of ${index.total}`)
    checker.finish()
    return { received: checker.received, errors }
  } finally {
    await client.close()
  }
}

/** Resolves true once every fixture message came, false if the stream ended first. */
function ebtSession(rpc: Rpc, index: FixtureIndex, checker: FeedChecker, errors: string[], label: string): Promise<boolean> {
  return new Promise((resolve) => {
    // EBT's note for "send me this feed from after sequence 0": sequence << 1, receive bit clear.
    const notes = Object.fromEntries([...index.feeds.keys()].map((feed) => [feed, 0]))
    let sentNotes = false
    let finished = false
    let closeOurs: ((end: true) => void) | null = null
    const ours: Source<unknown> = (abort, cb) => {
      if (abort) return cb(abort)
      if (!sentNotes) {
        sentNotes = true
        return cb(null, notes)
      }
      closeOurs = () => cb(true) // nothing more to say: ended once all is in
    }
    const duplex = (rpc.ebt as { replicate(options: unknown, cb: (err: unknown) => void): Duplex<unknown, unknown> }).replicate({ version: 3, format: 'classic' }, (err) => {
      if (err && !finished && errors.length < 5) errors.push(`${label}: ebt.replicate failed: ${(err as Error).message ?? String(err)}`)
    })
    pull(ours, duplex.sink)
    pull(
      duplex.source,
      pull.drain((item) => {
        const value = item as { signature?: unknown }
        if (typeof value.signature !== 'string') return // the pub's notes
        checker.check(value)
        if (checker.received === index.total) {
          finished = true
          closeOurs?.(true)
          resolve(true)
          return false
        }
      }, (err) => {
        if (err && !finished && errors.length < 5) errors.push(`${label}: the EBT stream failed: ${(err as Error).message ?? String(err)}`)
        resolve(finished)
      }),
    )
  })
}

/**
 * A TCP connection that starts a handshake and drops it: half send part of a client hello
 * (1–63 of its 64 bytes) and hang up after up to 300 ms; the other half send nothing and hang
 * up after 0.5–2 s. Resolves with what went wrong, or null: refused, or closed by the pub
 * before we hung up (it must wait for the rest of the hello).
 */
export function dropMidHandshake(port: number, partial: boolean, random: () => number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let hungUp = false
    socket.once('error', (err) => resolve(`a dropped handshake's socket failed: ${err.message}`))
    socket.once('close', () => resolve(hungUp ? null : 'the pub closed a half-open handshake before it was dropped'))
    socket.once('connect', () => {
      if (partial) socket.write(Buffer.alloc(1 + Math.floor(random() * 63), Math.floor(random() * 256)))
      setTimeout(() => {
        hungUp = true
        socket.destroy()
      }, partial ? random() * 300 : 500 + random() * 1500)
    })
  })
}

export interface LatencySampler {
  /** Stops sampling; the latencies (ms) and what went wrong. */
  stop(): Promise<{ latencies: number[]; errors: string[] }>
}

/** The owner's `whoami` over the pub's local socket, every `intervalMs`, timed. */
export async function sampleWhoami(socketPath: string, expectedId: string, intervalMs: number): Promise<LatencySampler> {
  const client = await connectLocal(socketPath)
  const latencies: number[] = []
  const errors: string[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const started = performance.now()
      try {
        const answer = await client.call<{ id: string }>('whoami')
        latencies.push(performance.now() - started)
        if (answer.id !== expectedId && errors.length < 5) errors.push(`whoami answered ${JSON.stringify(answer).slice(0, 80)}`)
      } catch (err) {
        if (errors.length < 5) errors.push(`whoami failed: ${(err as Error).message}`)
      }
      const wait = intervalMs - (performance.now() - started)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      await client.close()
      return { latencies, errors }
    },
  }
}

export interface SlowReader {
  /** Messages it asked for in all. */
  requested: number
  /** Streams it opened. */
  streams: number
  /** Starts reading again; resolves once everything asked for came (checked), or on timeout. */
  resume(timeoutMs: number): Promise<ClientResult>
}

/**
 * A client that asks for the whole log `copies` times over by createHistoryStream (each feed,
 * `copies` streams of it) and once by EBT, without reading a byte of the answers: the pub is
 * left holding whatever it does not stop producing.
 */
export async function stalledReader(address: string, index: FixtureIndex, copies: number, ebt = true): Promise<SlowReader> {
  const client = await connectPeer(address, true)
  const errors: string[] = []
  const checkers = Array.from({ length: copies }, (_, copy) => new FeedChecker(index, errors, `slow reader, copy ${copy + 1}`))
  const streams = checkers.flatMap((checker) => [...index.feeds.keys()].map((id) => historyOf(client.rpc, id, checker, errors, 'slow reader')))
  const ebtChecker = new FeedChecker(index, errors, 'slow reader, EBT')
  const byEbt = ebt ? ebtSession(client.rpc, index, ebtChecker, errors, 'slow reader, EBT') : Promise.resolve(true)
  const requested = index.total * (copies + (ebt ? 1 : 0))
  return {
    requested,
    streams: copies * index.feeds.size + (ebt ? 1 : 0),
    resume: async (timeoutMs) => {
      client.holdReading(false)
      try {
        const done = await withTimeout(timeoutMs, Promise.all([...streams, byEbt]).then(() => true), () => false)
        const received = checkers.reduce((sum, checker) => sum + checker.received, ebtChecker.received)
        if (!done) errors.push(`slow reader: timed out after ${timeoutMs / 1000} s with ${received} of ${requested}`)
        for (const checker of [...checkers, ...(ebt ? [ebtChecker] : [])]) checker.finish()
        return { received, errors }
      } finally {
        await client.close()
      }
    },
  }
}
