import { promises as fs } from 'node:fs'
import { blobHash, isBlobId, type BlobId } from '@hearsay/keys'
import { BlobError } from './errors.ts'
import type { BlobFiles, BlobInput, BlobMeta } from './files.ts'
import { AsyncQueue } from './queue.ts'

// The want/have exchange of ssb-blobs (node_modules/ssb-blobs/inject.js, v1.2.2), as pure logic:
// the only I/O is the blob files and the `fetch` each session is given, so it runs without
// sockets. The wire format is one JSON object per message, blob id → integer:
//
//   { "&…=.sha256": -1 }    a want; -n means "someone n hops from the sender wants it"
//                           (-1: the sender itself). inject.js:152
//   { "&…=.sha256": 4096 }  a have: the sender holds it, 4096 bytes long. inject.js:162
//
// Zero and non-integers mean nothing and are ignored (inject.js:151), as are keys that are not
// blob ids. Each side's stream opens with its current wants, pushed blobs included as -1
// (createWantStream, inject.js:217-225), even when that is `{}`. After that:
// - a want for a blob we hold is answered, to that peer only, with one message holding the
//   sizes of all such blobs in the message it came in (process + wantSink, inject.js:148-172,
//   239-241); a want for one we lack becomes our own want at one more hop (-n-1), unless that
//   is beyond `sympathy` hops (3), and is announced to every peer, the sender included, unless
//   we already want it at least as closely (wants, inject.js:108-117);
// - every blob added to the store is announced to every peer as a have (inject.js:119-128);
// - a have for a blob we want, no larger than the limit, is fetched from that peer and checked
//   against its id; a failed fetch is retried from another peer that has it (has + get,
//   inject.js:92-106, 130-146).
//
// Deliberate differences from ssb-blobs. Messages have the same shapes, but a few are sent (or
// not) where ssb-blobs would do otherwise:
// - the size limit is inclusive (size <= max, as multiblob's get({max}) is; inject.js:88,145
//   use `<`), and an explicit want can raise it for one blob (`want(id, {max})`);
// - a peer whose copy failed (bad hash, too big, transfer error) is not asked for that blob
//   again on this session until the blob arrives from someone else;
// - a local `want` is always announced (ssb-blobs skips it when a peer is already known to
//   have the blob, and then loses the want if that fetch fails; inject.js:335-337);
// - pushing a blob does not also want it (inject.js:346 sets want[id] = -1 through queue(),
//   which makes the pusher re-download its own blob from the first peer that reports it);
// - the empty blob is always present locally, so it is never wanted, forwarded or fetched
//   (ssb-blobs means to do this, but its isEmptyHash compares without the `&`);
// - the legacy `has`/`changes` polling for pre-createWants peers is not implemented, and a
//   remote `blobs.has` call is answered, not taken as a want (as inject.js:278-294 does).
// ssb-blobs 2.x (ssb-server 16 pins 1.2.2) sends the same messages; its sympatheticGet
// compares hops the other way round (`want[id] <= hops`), which looks like a regression.

/** One createWants message: blob id → -hops (a want) or size in bytes (a have). */
export type WantsMessage = Record<string, number>

/**
 * Fetches a blob from the peer a session talks to, e.g. over RPC with
 * `blobs.get({key: id, max})`. `size` is what the peer said it has; `max` is the most we will
 * accept. The bytes are verified against `id` before they are stored.
 */
export type FetchBlob = (id: BlobId, hint: { size: number; max: number }) => BlobInput | Promise<BlobInput>

export interface WantOptions {
  /** How far away the wanter is: 1 (the default) is us. Announced as `-hops`. */
  hops?: number
  /** Fetch even if a peer reports a size above the store's `maxSize`, up to this many bytes. */
  max?: number
  /** Stop waiting (rejecting with the signal's reason); the want itself stays. */
  signal?: AbortSignal
}

export interface SessionOptions {
  /** How to fetch a blob from this peer; without it the peer's haves are noted but not fetched. */
  fetch?: FetchBlob
}

export interface WantListOptions {
  /** Largest blob fetched for a want that did not name its own `max`. */
  maxSize: number
  /** Furthest want (in hops) we pass on and fetch for. */
  sympathy: number
  /** How many peers must report having a pushed blob before we stop pushing it. */
  pushy: number
  /** Where the pushed set is kept across restarts (ssb-blobs keeps it in LevelDB `blobs_push`). */
  pushFile: string
  onFetchError?: (peer: string, id: BlobId, err: unknown) => void
}

interface Waiter {
  resolve(): void
  reject(err: unknown): void
}

function isMessageObject(msg: unknown): msg is Record<string, unknown> {
  return typeof msg === 'object' && msg !== null && !Array.isArray(msg)
}

/**
 * The createWants exchange with one peer. Its two halves are independent, as they are over
 * muxrpc (each side reads the other's `blobs.createWants()`): `outgoing()` is what we send,
 * `consume()`/`receive()` take what the peer sends.
 */
export class WantsSession {
  /** Blob id → size, for blobs this peer said it has. */
  readonly available = new Map<BlobId, number>()
  /** Blobs this peer sent bytes for that failed verification or transfer. */
  readonly failed = new Set<BlobId>()
  fetch: FetchBlob | undefined
  private out: AsyncQueue<WantsMessage> | null
  private processing: Promise<unknown> = Promise.resolve()
  private consuming = false
  private closedFlag = false

  /** @internal created by WantList.session */
  constructor(
    readonly peer: string,
    private readonly list: WantList,
  ) {
    // Created (with the opening snapshot) before anyone reads it, so answers to the peer's
    // wants are kept until the peer asks for our stream (ssb-blobs: wantSink, inject.js:233).
    this.out = this.newQueue()
  }

  get closed(): boolean {
    return this.closedFlag
  }

  private newQueue(): AsyncQueue<WantsMessage> {
    const queue = new AsyncQueue<WantsMessage>((returned) => {
      if (this.out === returned) this.out = null // like streams[id] = false, inject.js:227
      if (!this.consuming) this.close() // nobody is listening either way: forget the peer
    })
    queue.push(this.list.snapshot())
    return queue
  }

  /**
   * The messages to send to this peer, starting with our current wants. Only one reader at a
   * time: a second call ends the first stream and starts over with a fresh snapshot.
   */
  outgoing(): AsyncIterable<WantsMessage> {
    if (this.closedFlag) {
      const done = new AsyncQueue<WantsMessage>()
      done.end()
      return done
    }
    if (this.out && !this.out.isTaken) return this.out
    this.out?.end()
    this.out = this.newQueue()
    return this.out
  }

  /** @internal queue a message for the peer */
  send(msg: WantsMessage): void {
    if (!this.closedFlag) this.out?.push(msg)
  }

  /** Handles one message from the peer; messages are handled in the order they are received. */
  receive(msg: unknown): Promise<void> {
    const done = this.processing.then(() => this.list.process(this, msg))
    this.processing = done.catch(() => {})
    return done
  }

  /** Reads the peer's messages until they end, then closes the session. */
  async consume(messages: AsyncIterable<unknown>): Promise<void> {
    this.consuming = true
    try {
      for await (const msg of messages) {
        if (this.closedFlag) break
        await this.receive(msg)
      }
    } finally {
      this.close()
    }
  }

  /** The peer is gone: stop sending, forget what it has. A fetch already running finishes. */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.out?.end()
    this.out = null
    this.available.clear()
    this.list.forget(this)
  }
}

/** Our wants, the peers we exchange them with, and the fetching that follows. */
export class WantList {
  /** Blob id → -hops; -1 is our own want. */
  private readonly wanted = new Map<BlobId, number>()
  /** Per-blob size limits raised by explicit wants. */
  private readonly wantMax = new Map<BlobId, number>()
  private readonly waiters = new Map<BlobId, Set<Waiter>>()
  private readonly getting = new Map<BlobId, WantsSession>()
  private readonly peers = new Map<string, WantsSession>()
  /** Blobs being pushed → peers known to have them (and their sizes). */
  private readonly pushes = new Map<BlobId, Map<string, number>>()
  private readonly listeners = new Set<(change: WantsMessage) => void>()
  private readonly unsubscribe: () => void
  private saving: Promise<unknown> = Promise.resolve()
  private closed = false

  private constructor(
    private readonly files: BlobFiles,
    private readonly options: WantListOptions,
  ) {
    this.unsubscribe = files.onAdd((meta) => this.added(meta))
  }

  static async open(files: BlobFiles, options: WantListOptions): Promise<WantList> {
    const list = new WantList(files, options)
    await list.loadPushes()
    return list
  }

  /** Our wants right now, as they go on the wire (id → -hops). */
  wants(): WantsMessage {
    return Object.fromEntries(this.wanted)
  }

  /** Blobs we are still pushing to peers. */
  pushing(): BlobId[] {
    return [...this.pushes.keys()]
  }

  /** What a new createWants stream opens with: our wants, and pushed blobs as -1 (inject.js:222-223). */
  snapshot(): WantsMessage {
    const message = this.wants()
    for (const id of this.pushes.keys()) message[id] = -1
    return message
  }

  /**
   * Every message we broadcast to all peers: a want we took on (`{id: -hops}`), a push
   * (`{id: -1}`), or a blob that arrived (`{id: size}`). Returns an unsubscribe.
   */
  onChange(listener: (change: WantsMessage) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The session with `peer`, created on first use (with our opening snapshot queued). */
  session(peer: string, options: SessionOptions = {}): WantsSession {
    if (this.closed) throw new BlobError('EBLOB_CLOSED', 'the blob store is closed')
    let session = this.peers.get(peer)
    if (!session) {
      session = new WantsSession(peer, this)
      this.peers.set(peer, session)
    }
    if (options.fetch) {
      session.fetch = options.fetch
      for (const id of session.available.keys()) this.tryFetch(id)
    }
    return session
  }

  /** Resolves once the blob is stored here, asking peers for it meanwhile. */
  async want(id: BlobId, options: WantOptions = {}): Promise<void> {
    blobHash(id) // throws InvalidRefError for anything but a canonical blob id
    const hops = options.hops ?? 1
    if (!Number.isSafeInteger(hops) || hops < 1) throw new RangeError(`hops must be a whole number >= 1, not ${hops}`)
    if (this.closed) throw new BlobError('EBLOB_CLOSED', 'the blob store is closed')
    options.signal?.throwIfAborted()
    // Waiting starts before the look, so a blob stored in between is not missed.
    const arrived = this.wait(id, options.signal)
    arrived.catch(() => {}) // it may reject (abort, close) before it is returned below
    if ((await this.files.size(id)) !== null) {
      this.settle(id)
      return arrived
    }
    if (this.closed) return arrived
    if (options.max !== undefined) this.wantMax.set(id, Math.max(this.wantMax.get(id) ?? 0, options.max))
    const current = this.wanted.get(id)
    if (current === undefined || current < -hops) {
      this.wanted.set(id, -hops)
      this.broadcast({ [id]: -hops })
    }
    this.tryFetch(id)
    return arrived
  }

  /** Asks peers to take a copy of a blob we have, until `pushy` of them report having it. */
  async push(id: BlobId): Promise<void> {
    blobHash(id)
    if (this.closed) throw new BlobError('EBLOB_CLOSED', 'the blob store is closed')
    if (!this.pushes.has(id)) {
      this.pushes.set(id, new Map())
      await this.savePushes()
    }
    this.broadcast({ [id]: -1 })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    for (const session of [...this.peers.values()]) session.close()
    const err = new BlobError('EBLOB_CLOSED', 'the blob store was closed before the blob arrived')
    for (const set of this.waiters.values()) for (const waiter of set) waiter.reject(err)
    this.waiters.clear()
    this.listeners.clear()
  }

  /** @internal one message from a session's peer */
  async process(session: WantsSession, msg: unknown): Promise<void> {
    if (this.closed || session.closed || !isMessageObject(msg)) return
    const asked: Array<[BlobId, number]> = []
    for (const [key, value] of Object.entries(msg)) {
      if (!isBlobId(key) || typeof value !== 'number' || !Number.isInteger(value)) continue
      if (value < 0) asked.push([key, value])
      else if (value > 0) this.peerHas(session, key, value)
    }
    if (asked.length === 0) return
    const sizes = await Promise.all(asked.map(([id]) => this.files.size(id).catch(() => null)))
    const reply: WantsMessage = {}
    let replying = false
    asked.forEach(([id, hops], i) => {
      const size = sizes[i]
      // A size of 0 cannot be said on the wire (it is not a have), so the empty blob is neither
      // offered nor, being always present, wanted.
      if (size) {
        reply[id] = size
        replying = true
      } else if (size === null) this.peerWants(id, hops - 1)
    })
    if (replying) session.send(reply)
  }

  /** @internal a session closed */
  forget(session: WantsSession): void {
    if (this.peers.get(session.peer) === session) this.peers.delete(session.peer)
  }

  private limit(id: BlobId): number {
    return this.wantMax.get(id) ?? this.options.maxSize
  }

  private broadcast(change: WantsMessage): void {
    for (const session of this.peers.values()) session.send(change)
    for (const listener of [...this.listeners]) listener(change)
  }

  private peerWants(id: BlobId, hops: number): void {
    if (-hops > this.options.sympathy) return // too far away to care (inject.js:109)
    const current = this.wanted.get(id)
    if (current !== undefined && current >= hops) return // already wanted as close or closer
    this.wanted.set(id, hops)
    this.broadcast({ [id]: hops })
    this.tryFetch(id)
  }

  private peerHas(session: WantsSession, id: BlobId, size: number): void {
    session.available.set(id, size)
    const pushed = this.pushes.get(id)
    if (pushed) {
      pushed.set(session.peer, size)
      if (pushed.size >= this.options.pushy) {
        this.pushes.delete(id)
        void this.savePushes()
      }
    }
    if (this.wanted.has(id) && !this.getting.has(id) && !session.failed.has(id) && size <= this.limit(id)) {
      this.fetchFrom(session, id, size)
    }
  }

  private tryFetch(id: BlobId): void {
    if (this.closed || !this.wanted.has(id) || this.getting.has(id)) return
    const limit = this.limit(id)
    for (const session of this.peers.values()) {
      const size = session.available.get(id)
      if (size !== undefined && size <= limit && session.fetch && !session.failed.has(id)) {
        this.fetchFrom(session, id, size)
        return
      }
    }
  }

  private fetchFrom(session: WantsSession, id: BlobId, size: number): void {
    const fetch = session.fetch
    if (!fetch || session.closed) return
    const max = this.limit(id)
    this.getting.set(id, session)
    const attempt = async (): Promise<void> => {
      await this.files.add(await fetch(id, { size, max }), id, { max })
    }
    attempt().then(
      () => {
        this.getting.delete(id)
      },
      (err: unknown) => {
        this.getting.delete(id)
        session.available.delete(id)
        session.failed.add(id)
        this.options.onFetchError?.(session.peer, id, err)
        this.tryFetch(id) // another peer may have it; if not, the next have will start a fetch
      },
    )
  }

  private added(meta: BlobMeta): void {
    this.wanted.delete(meta.id)
    this.wantMax.delete(meta.id)
    for (const session of this.peers.values()) session.failed.delete(meta.id)
    this.settle(meta.id)
    if (meta.size > 0) this.broadcast({ [meta.id]: meta.size })
  }

  private wait(id: BlobId, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let set = this.waiters.get(id)
      if (!set) this.waiters.set(id, (set = new Set()))
      const onAbort = (): void => {
        set.delete(waiter)
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      set.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private settle(id: BlobId): void {
    const set = this.waiters.get(id)
    if (!set) return
    this.waiters.delete(id)
    for (const waiter of set) waiter.resolve()
  }

  private async loadPushes(): Promise<void> {
    let text: string
    try {
      text = await fs.readFile(this.options.pushFile, 'utf8')
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return
      throw err
    }
    let ids: unknown
    try {
      ids = JSON.parse(text)
    } catch {
      return // a torn or hand-edited file: pushing is best effort, start over
    }
    if (Array.isArray(ids)) for (const id of ids) if (isBlobId(id)) this.pushes.set(id, new Map())
  }

  /** Writes the pushed set atomically; saves are queued so an older one never lands last. */
  private savePushes(): Promise<void> {
    const write = async (): Promise<void> => {
      const file = this.options.pushFile
      const tmp = `${file}.${process.pid}.tmp`
      await fs.writeFile(tmp, JSON.stringify([...this.pushes.keys()]))
      await fs.rename(tmp, file)
    }
    const done = this.saving.then(write)
    this.saving = done.catch(() => {})
    return done
  }
}
