import type { Duplex, End, Source, SourceCallback } from 'pull-stream'
import type { Manifest } from 'muxrpc'

/**
 * Holds back what one connection serves while its socket is not taking bytes.
 *
 * muxrpc (packet-stream) reads every stream it serves as fast as the stream answers and queues
 * the frames until the wire takes them, with no bound: a peer that asks for the whole log and
 * stops reading would have us read all of it into memory. Here the served streams' reads wait
 * while the wire is not waiting for frames (the socket's buffer is full and it waits for
 * 'drain'); they go on as soon as it asks again. What we hold for a stalled peer is then one
 * item per open stream plus the socket's own buffer, whatever the log's size. Nothing changes
 * on the wire: the same frames go out, only not sooner than the peer takes them.
 */
export interface OutgoingFlow {
  /** The connection's outgoing muxrpc frames, watched for whether the wire waits for more. */
  wire(source: Source<Buffer>): Source<Buffer>
  /** A served stream whose reads wait while the wire is backed up. */
  gate<T>(source: Source<T>): Source<T>
}

/**
 * Parked reads let go per turn of the event loop. Each can go on to send a whole store batch at
 * once, so letting hundreds go in one turn would keep everyone else (the owner's calls, other
 * peers' handshakes) waiting for a second or more.
 */
const RELEASED_PER_TURN = 4

export function outgoingFlow(): OutgoingFlow {
  /** A read of the wire is outstanding: every frame queued so far has been taken. */
  let waiting = false
  /** The wire ended: nothing holds back any more (the streams end with the connection). */
  let ended = false
  const parked: Array<() => void> = []
  let releasing = false
  let scheduled: NodeJS.Immediate | null = null

  // Iterative, not recursive: a released read can produce a frame that the wire takes and asks
  // again for at once, inside this loop.
  function release(): void {
    if (releasing) return
    releasing = true
    try {
      let budget = ended ? Infinity : RELEASED_PER_TURN
      while ((waiting || ended) && parked.length > 0 && budget-- > 0) parked.shift()!()
    } finally {
      releasing = false
    }
    if (parked.length > 0 && waiting && scheduled === null) {
      scheduled = setImmediate(() => {
        scheduled = null
        release()
      })
    }
  }

  return {
    wire(source) {
      return (abort: End, cb: SourceCallback<Buffer>) => {
        if (abort) {
          ended = true
          release()
          return source(abort, cb)
        }
        let answered = false
        source(null, (end, data) => {
          answered = true
          waiting = false
          if (end) {
            ended = true
            release()
          }
          cb(end, data)
        })
        if (!answered) {
          waiting = true
          release()
        }
      }
    },
    gate<T>(source: Source<T>): Source<T> {
      return (abort, cb) => {
        if (abort || waiting || ended) return source(abort, cb)
        parked.push(() => source(null, cb))
      }
    },
  }
}

/**
 * `api` with every source and duplex method the manifest names gated by `flow` (the duplexes'
 * outgoing halves), so nothing a peer can open is read faster than it reads.
 */
export function gateServedStreams<T extends Record<string, unknown>>(api: T, manifest: Manifest, flow: OutgoingFlow): T {
  const gated: Record<string, unknown> = { ...api }
  for (const [name, kind] of Object.entries(manifest)) {
    const handler = api[name]
    if (typeof kind === 'object' && kind !== null && typeof handler === 'object' && handler !== null) {
      gated[name] = gateServedStreams(handler as Record<string, unknown>, kind as Manifest, flow)
    } else if (typeof handler === 'function' && (kind === 'source' || kind === 'duplex')) {
      const method = handler as (...args: unknown[]) => unknown
      gated[name] = kind === 'source'
        ? (...args: unknown[]) => flow.gate(method.apply(api, args) as Source<unknown>)
        : (...args: unknown[]) => {
            const duplex = method.apply(api, args) as Duplex<unknown, unknown>
            return { source: flow.gate(duplex.source), sink: duplex.sink }
          }
    }
  }
  return gated as T
}

/**
 * Messages one connection's served streams may hold, read from the store and not yet handed to
 * muxrpc, all together. Each stream's batch is bounded, and the gate above stops reads while the
 * wire is backed up, but the number of streams a peer opens is not: one that opens thousands and
 * reads none would pin a batch in each. Here a stream waits for room before it reads, and every
 * message it hands on (or drops, ending) makes room for the others.
 */
export class ReadBudget {
  private readonly waiting: Array<{ want: number; grant: (count: number) => void }> = []

  constructor(private room: number) {}

  /** Room for up to `want` messages (at least one), once there is any. Give back what goes unused. */
  take(want: number): Promise<number> {
    if (this.waiting.length === 0 && this.room > 0) return Promise.resolve(this.grant(want))
    return new Promise((grant) => this.waiting.push({ want, grant }))
  }

  give(count: number): void {
    this.room += count
    while (this.room > 0 && this.waiting.length > 0) {
      const { want, grant } = this.waiting.shift()!
      grant(this.grant(want))
    }
  }

  private grant(want: number): number {
    const count = Math.min(Math.max(want, 1), this.room)
    this.room -= count
    return count
  }
}
