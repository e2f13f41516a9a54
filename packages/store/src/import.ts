// Importing messages from files other SSB software wrote: NDJSON of `{key, value, timestamp}`
// (or of bare values), or ssb-db@20's flume `log.offset`, either of them possibly gzipped.
//
// The file is streamed, never held whole. Messages are read in chunks (1000 by default); each
// chunk's signatures are checked on worker threads (a validation pool) while the chunks before
// it are written on this one, so verifying overlaps writing and indexing. A chunk is split by author, and
// the store checks each feed's part against the feed's chain and writes the whole chunk, index
// entries included, in one atomic LevelDB batch (see stageFeeds in store.ts): feeds arrive
// interleaved, and a write per feed would mean a write per message or two. A chunk is checked
// and indexed while the chunk before it is being written to disk; its results are counted once
// its write is done. Nothing here can leave the store half-written: an interrupted import keeps
// whole batches only, and running it again stores what is missing, messages already held coming
// back as duplicates.
//
// Each feed's messages keep their file order; across feeds, the store's receive order (offsets)
// follows the file chunk by chunk, feeds grouped within a chunk.
import { open } from 'node:fs/promises'
import os from 'node:os'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { FeedId, MessageId } from '@hearsay/keys'
import { MessageError, createValidationPool, verifyMessage, type HmacKey, type ValidationPool } from '@hearsay/message'
import { stageFeeds, storeHmacKey, type StagedAppend } from './store.ts'
import { StoreError, type AppendResult, type Store } from './types.ts'

export type ImportFormat = 'ndjson' | 'flume'

export interface ImportProgress {
  /** Records read so far: messages, unreadable lines and frames, skipped stretches of bytes. */
  read: number
  accepted: number
  duplicates: number
  rejected: number
  /** Feeds found forked so far. */
  forked: number
  /** Bytes of the file read so far (compressed bytes for a gzipped file), of `totalBytes`. */
  bytesRead: number
  totalBytes: number
}

export interface ImportRejection {
  /** EIMPORT_* for problems of the file, EMSG_* / ESTORE_* as the store or validation said. */
  code: string
  message: string
  /** The id we computed, or else the one the file claims. */
  key?: MessageId
  author?: FeedId
  sequence?: number
  /** 1-based line of an NDJSON file. */
  line?: number
  /** Byte offset in the (decompressed) file where the line, frame or bad stretch starts. */
  offset?: number
}

export interface ImportResult {
  format: ImportFormat
  /** Every record read ends up accepted, a duplicate or rejected: read = accepted + duplicates + rejectedCount. */
  read: number
  accepted: number
  /** Messages the store already held (resuming an interrupted import gives these). */
  duplicates: number
  /** The first `maxRejections` rejections, in file order. */
  rejected: ImportRejection[]
  /** All rejections, listed or not. */
  rejectedCount: number
  /** Feeds whose author signed two different messages at one sequence; they accept no more messages. */
  forked: FeedId[]
}

/**
 * Runs `verifyMessage` over many values, e.g. on worker threads: what import needs of
 * @hearsay/message's `createValidationPool()`, which fits as it is.
 */
export interface BatchVerifier {
  /** Per value, in order: its id, or why it is not a valid message. Rejects only if it cannot answer. */
  verifyBatch(values: readonly unknown[], hmacKey?: HmacKey): Promise<Verdict[]>
}

export type Verdict = { key: MessageId } | { error: { code: string; message: string } }

export interface ImportOptions {
  /** Called every `progressIntervalMs` (at most) while importing, and once at the end. */
  onProgress?: (progress: ImportProgress) => void
  /** Default 200; 0 reports after every chunk. */
  progressIntervalMs?: number
  /** Skip format detection. */
  format?: ImportFormat
  /**
   * Verifies signatures, e.g. a validation pool shared with replication; import does not close
   * it. Without one, import starts its own pool of `threads` workers for the import's length.
   */
  verifier?: BatchVerifier
  /**
   * Worker threads for signatures when no `verifier` is given; 0 verifies on this thread.
   * Default: all cores but this one (the store's writing and indexing keep it busy), for files
   * over 1 MiB; a smaller file is not worth starting workers for.
   */
  threads?: number
  /** Messages read before their signatures are checked together and written (default 1000). */
  chunkSize?: number
  /** Most messages of one feed in one append (default 500). */
  batchSize?: number
  /** How many rejections to list (default 1000); all are counted. */
  maxRejections?: number
  /** Stops the import between chunks; what was written stays, and the import rejects with the reason. */
  signal?: AbortSignal
}

/** Files smaller than this are verified on this thread unless told otherwise (~1,000 messages). */
const POOL_MIN_BYTES = 1 << 20
/** Longest line or frame worth parsing; messages are at most 8 KiB of text (about 25 KiB as UTF-8). */
const MAX_RECORD_BYTES = 1 << 20
const READ_CHUNK_BYTES = 1 << 16
/** Chunks read ahead of the one being written; bounds memory. */
const MAX_CHUNKS_IN_FLIGHT = 3
const OPEN_BRACE = 0x7b
const NEWLINE = 0x0a

/** Imports the messages of `file` into `store`. A malformed file is reported, never thrown; only I/O errors and a closed store throw. */
export async function importMessages(store: Store, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const source = await openSource(file)
  let pool: ValidationPool | null = null
  try {
    const threads = options.verifier ? 0 : options.threads ?? (source.totalBytes >= POOL_MIN_BYTES ? os.availableParallelism() - 1 : 0)
    if (threads > 0) pool = createValidationPool({ threads })
    const run = new ImportRun(store, source, options, options.verifier ?? pool ?? inlineVerifier)
    try {
      let parser: Parser | null = null
      for await (const chunk of source.chunks(run)) {
        if (!parser) {
          parser = createParser(options.format ?? detectFormat(chunk))
          run.format = parser.format
        }
        run.add(parser.push(chunk))
        await run.keepUp()
      }
      if (!parser) {
        parser = createParser(options.format ?? 'ndjson')
        run.format = parser.format
      }
      run.add(parser.end())
      return await run.finish()
    } catch (err) {
      await run.settle()
      throw err
    }
  } finally {
    source.close()
    await pool?.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Source {
  totalBytes: number
  bytesRead(): number
  /** The decompressed bytes; a damaged gzip stream ends early and reports it to `run`. */
  chunks(run: ImportRun): AsyncIterable<Buffer>
  close(): void
}

async function openSource(file: string): Promise<Source> {
  const handle = await open(file, 'r')
  let totalBytes: number
  let gzip: boolean
  try {
    totalBytes = (await handle.stat()).size
    const magic = Buffer.alloc(2)
    const { bytesRead } = await handle.read(magic, 0, 2, 0)
    gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b
  } catch (err) {
    await handle.close()
    throw err
  }
  const raw = handle.createReadStream({ start: 0, highWaterMark: READ_CHUNK_BYTES })
  const gunzip = gzip ? createGunzip({ chunkSize: READ_CHUNK_BYTES }) : null
  if (gunzip) {
    raw.on('error', (err) => gunzip.destroy(err))
    raw.pipe(gunzip)
  }
  return {
    totalBytes,
    bytesRead: () => raw.bytesRead,
    async *chunks(run) {
      if (!gunzip) {
        yield* raw as AsyncIterable<Buffer>
        return
      }
      let produced = 0
      try {
        for await (const chunk of gunzip as Readable as AsyncIterable<Buffer>) {
          produced += chunk.length
          yield chunk
        }
      } catch (err) {
        // Truncated or damaged compressed data: what decompressed so far is imported.
        const code = (err as NodeJS.ErrnoException).code
        if (typeof code !== 'string' || !code.startsWith('Z_')) throw err
        run.reject({ code: 'EIMPORT_GZIP', message: `the gzip data is damaged or cut short after ${produced} decompressed bytes: ${(err as Error).message}`, offset: produced })
      }
    },
    close() {
      gunzip?.destroy()
      raw.destroy()
    },
  }
}

/** Flume frames start with a 4-byte big-endian length, so (under 16 MiB) with a zero byte; text never does. */
function detectFormat(first: Buffer): ImportFormat {
  return first.length > 0 && first[0] === 0 ? 'flume' : 'ndjson'
}

type ParsedRecord =
  | { value: unknown; key: unknown; line?: number; offset: number }
  | { error: { code: string; message: string }; line?: number; offset: number }

interface Parser {
  format: ImportFormat
  push(chunk: Buffer): ParsedRecord[]
  end(): ParsedRecord[]
}

function createParser(format: ImportFormat): Parser {
  return format === 'flume' ? new FlumeParser() : new LineParser()
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x)

/** `{key, value, timestamp}` or a bare message value. */
function recordOf(text: string, where: { line?: number; offset: number }, what: string): ParsedRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    return { error: { code: 'EIMPORT_JSON', message: `${what} is not JSON (${(err as Error).message})` }, ...where }
  }
  if (isObject(parsed)) {
    if (isObject(parsed.value)) return { value: parsed.value, key: parsed.key, ...where }
    if ('author' in parsed && 'signature' in parsed) return { value: parsed, key: undefined, ...where }
  }
  return { error: { code: 'EIMPORT_NOT_MESSAGE', message: `${what} is neither a {key, value, timestamp} nor a message value` }, ...where }
}

/** NDJSON: one record a line; blank lines are skipped, a line too long to be a message is reported unread. */
class LineParser implements Parser {
  readonly format = 'ndjson'
  private parts: Buffer[] = []
  private partBytes = 0
  private oversized = false
  private line = 0
  private offset = 0

  push(chunk: Buffer): ParsedRecord[] {
    const out: ParsedRecord[] = []
    let start = 0
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.take(chunk, start, nl)
      this.finishLine(out, 1)
      start = nl + 1
    }
    if (start < chunk.length) this.take(chunk, start, chunk.length)
    return out
  }

  end(): ParsedRecord[] {
    const out: ParsedRecord[] = []
    if (this.partBytes > 0 || this.oversized) this.finishLine(out, 0)
    return out
  }

  private take(chunk: Buffer, start: number, end: number): void {
    if (this.oversized) {
      this.partBytes += end - start
      return
    }
    if (this.partBytes + end - start > MAX_RECORD_BYTES) {
      this.oversized = true
      this.parts = []
      this.partBytes += end - start
      return
    }
    if (end > start) {
      this.parts.push(chunk.subarray(start, end))
      this.partBytes += end - start
    }
  }

  private finishLine(out: ParsedRecord[], terminator: number): void {
    this.line++
    const where = { line: this.line, offset: this.offset }
    this.offset += this.partBytes + terminator
    if (this.oversized) {
      out.push({ error: { code: 'EIMPORT_TOO_LARGE', message: `line ${this.line} is ${this.partBytes} bytes long, too long for a message` }, ...where })
    } else if (this.partBytes > 0) {
      const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes)
      let text = bytes.toString('utf8')
      if (this.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      if (text.trim().length > 0) out.push(recordOf(text, where, `line ${this.line}`))
    }
    this.parts = []
    this.partBytes = 0
    this.oversized = false
  }
}

/**
 * flume/log.offset: `UInt32BE length ‖ JSON ‖ UInt32BE length ‖ UInt32BE offset after the frame`,
 * maybe followed by zero padding. A frame whose lengths disagree starts a damaged stretch, which
 * ends where a frame is found whose lengths agree and whose trailer names its own end offset;
 * the stretch is reported (unless it was all zeros) and reading goes on from there.
 */
class FlumeParser implements Parser {
  readonly format = 'flume'
  private buf: Buffer = Buffer.alloc(0)
  /** File offset of buf[0]. */
  private base = 0
  /** File offset where a damaged stretch began, while looking for the next good frame. */
  private damagedFrom: number | null = null
  private damagedNonZero = false

  push(chunk: Buffer): ParsedRecord[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    return this.parse(false)
  }

  end(): ParsedRecord[] {
    return this.parse(true)
  }

  private parse(final: boolean): ParsedRecord[] {
    const out: ParsedRecord[] = []
    const buf = this.buf
    let p = 0
    for (;;) {
      if (this.damagedFrom !== null) {
        const found = this.resync(p, final)
        if (found < 0) {
          // Everything before -found - 1 holds no frame start; wait for more bytes (or end).
          const keep = -found - 1
          this.skip(buf, p, keep)
          p = keep
          if (final) {
            this.skip(buf, p, buf.length)
            p = buf.length
            this.endDamage(this.base + p, out)
          }
          break
        }
        this.skip(buf, p, found)
        p = found
        this.endDamage(this.base + p, out)
      }
      if (buf.length - p < 4) {
        if (final && p < buf.length) this.truncated(p, buf, out)
        if (final) p = buf.length
        break
      }
      const length = buf.readUInt32BE(p)
      if (length === 0 || length > MAX_RECORD_BYTES) {
        this.damagedFrom = this.base + p
        continue
      }
      if (buf.length - p < length + 12) {
        if (final) {
          this.truncated(p, buf, out)
          p = buf.length
        }
        break
      }
      if (buf.readUInt32BE(p + 4 + length) !== length) {
        this.damagedFrom = this.base + p
        continue
      }
      const offset = this.base + p
      out.push(recordOf(buf.toString('utf8', p + 4, p + 4 + length), { offset }, `the frame at byte ${offset}`))
      p += length + 12
    }
    this.buf = p === buf.length ? Buffer.alloc(0) : buf.subarray(p)
    this.base += p
    return out
  }

  /** Index of the next good frame at or after `from`, or -(k + 1) when none starts before k yet. */
  private resync(from: number, final: boolean): number {
    const buf = this.buf
    // Skip at least one byte past where the damage began.
    let search = Math.max(from, this.damagedFrom! - this.base + 1) + 4
    for (;;) {
      const brace = buf.indexOf(OPEN_BRACE, search)
      if (brace === -1) return -(Math.max(from, buf.length - 4) + 1)
      const q = brace - 4
      const length = buf.readUInt32BE(q)
      if (length > 0 && length <= MAX_RECORD_BYTES) {
        if (buf.length - q < length + 12) {
          if (!final) return -(q + 1)
        } else if (buf.readUInt32BE(q + 4 + length) === length && buf.readUInt32BE(q + 8 + length) === this.base + q + length + 12) {
          return q
        }
      }
      search = brace + 1
    }
  }

  private skip(buf: Buffer, from: number, to: number): void {
    if (this.damagedNonZero) return
    for (let i = from; i < to; i++) {
      if (buf[i] !== 0) {
        this.damagedNonZero = true
        return
      }
    }
  }

  private endDamage(at: number, out: ParsedRecord[]): void {
    const from = this.damagedFrom!
    if (this.damagedNonZero) {
      out.push({ error: { code: 'EIMPORT_FRAME', message: `bytes ${from}–${at} are not a valid frame (${at - from} bytes skipped)` }, offset: from })
    }
    this.damagedFrom = null
    this.damagedNonZero = false
  }

  private truncated(p: number, buf: Buffer, out: ParsedRecord[]): void {
    let zeros = true
    for (let i = p; i < buf.length && zeros; i++) zeros = buf[i] === 0
    if (zeros) return
    const offset = this.base + p
    out.push({ error: { code: 'EIMPORT_TRUNCATED', message: `the file ends inside the frame at byte ${offset} (${buf.length - p} bytes of it present)` }, offset })
  }
}

// ---------------------------------------------------------------------------------------------
// Verifying and writing

interface Candidate {
  value: unknown
  claimedKey: unknown
  line?: number
  offset: number
}

interface Ready extends Candidate {
  key: MessageId
}

/** Messages of a chunk the store took or already held, counted once its writes are done. */
interface Tally {
  accepted: number
  duplicates: number
}

/** Verifies on this thread: the fallback when no pool is given. */
const inlineVerifier: BatchVerifier = {
  async verifyBatch(values, hmacKey) {
    return values.map((value): Verdict => {
      try {
        return { key: verifyMessage(value, hmacKey).key }
      } catch (err) {
        if (err instanceof MessageError) return { error: { code: err.code, message: err.message } }
        // verifyMessage throws nothing else for JSON data.
        return { error: { code: 'EMSG_NOT_JSON', message: `the message cannot be encoded as JSON: ${(err as Error)?.message ?? String(err)}` } }
      }
    })
  },
}

class ImportRun {
  format: ImportFormat = 'ndjson'
  private read = 0
  private accepted = 0
  private duplicates = 0
  private rejectedCount = 0
  private readonly rejections: ImportRejection[] = []
  private readonly forked = new Set<FeedId>()
  private chunk: Candidate[] = []
  /** Chunks on their way, oldest first; each resolves once its appends are written. */
  private inFlight: Array<Promise<void>> = []
  /** Resolves once the last chunk submitted has been checked and its writes queued. */
  private tail: Promise<void> = Promise.resolve()
  private lastReport = 0
  private readonly hmacKey: HmacKey
  private readonly verifier: BatchVerifier
  private readonly chunkSize: number
  private readonly batchSize: number
  private readonly maxRejections: number
  private readonly interval: number

  constructor(
    private readonly store: Store,
    private readonly source: Source,
    private readonly options: ImportOptions,
    verifier: BatchVerifier,
  ) {
    this.hmacKey = storeHmacKey(store)
    this.verifier = verifier
    this.chunkSize = Math.max(1, options.chunkSize ?? 1000)
    this.batchSize = Math.max(1, options.batchSize ?? 500)
    this.maxRejections = Math.max(0, options.maxRejections ?? 1000)
    this.interval = options.progressIntervalMs ?? 200
  }

  add(records: ParsedRecord[]): void {
    for (const record of records) {
      if ('error' in record) {
        this.reject({ ...record.error, ...position(record) })
        continue
      }
      this.read++
      this.chunk.push({ value: record.value, claimedKey: record.key, ...position(record) })
      if (this.chunk.length >= this.chunkSize) this.submit()
    }
  }

  /** Counts a record that will never reach the store. */
  reject(rejection: ImportRejection, counted = false): void {
    if (!counted) this.read++
    this.rejectedCount++
    if (this.rejections.length < this.maxRejections) this.rejections.push(rejection)
  }

  /** Waits while too many chunks are on their way; throws once a write failed or the import was aborted. */
  async keepUp(): Promise<void> {
    while (this.inFlight.length > MAX_CHUNKS_IN_FLIGHT) await this.inFlight.shift()
    this.options.signal?.throwIfAborted()
  }

  async finish(): Promise<ImportResult> {
    this.submit()
    while (this.inFlight.length > 0) await this.inFlight.shift()
    this.report(true)
    const rejected = this.rejections.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0))
    return { format: this.format, read: this.read, accepted: this.accepted, duplicates: this.duplicates, rejected, rejectedCount: this.rejectedCount, forked: [...this.forked] }
  }

  /** After a failure: lets what is in flight end, so nothing writes after the import returned. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight)
  }

  private submit(): void {
    if (this.chunk.length === 0) return
    const chunk = this.chunk
    this.chunk = []
    // Verification starts now, on other threads if there is a pool. Chunks are handed to the
    // store in file order, each once the one before it is prepared (not yet written): the store
    // checks and indexes it while the one before is being written.
    const verdicts = this.verifier.verifyBatch(chunk.map((c) => c.value), this.hmacKey)
    verdicts.catch(() => undefined)
    const staged = this.tail.then(() => verdicts).then((v) => this.stage(chunk, v))
    const tail = staged.then(() => undefined)
    tail.catch(() => undefined)
    this.tail = tail
    const written = staged.then(({ committed }) => committed).then(() => this.report(false))
    written.catch(() => undefined)
    this.inFlight.push(written)
  }

  /**
   * Hands a verified chunk to the store; resolves once all of its appends are prepared and
   * queued, with a promise that resolves once they are written and counted.
   */
  private async stage(chunk: Candidate[], verdicts: Verdict[]): Promise<{ committed: Promise<void> }> {
    // By author, keeping each feed's messages in file order. Feeds interleave in a database's
    // receive order (the author changes on almost every message), so appending runs of one
    // author would write one message at a time.
    const byAuthor = new Map<FeedId, Ready[]>()
    for (let i = 0; i < chunk.length; i++) {
      const candidate = chunk[i]!
      const verdict = verdicts[i]!
      if ('error' in verdict) {
        // Left out of its feed's batch: the feed's next message then fails as a gap.
        this.reject({ ...describe(candidate), code: verdict.error.code, message: verdict.error.message }, true)
        continue
      }
      if (candidate.claimedKey !== undefined && candidate.claimedKey !== verdict.key) {
        this.reject({
          ...describe(candidate), key: verdict.key, code: 'EIMPORT_KEY_MISMATCH',
          message: `the file names it ${show(candidate.claimedKey)} but its id is ${verdict.key}`,
        }, true)
        continue
      }
      const author = (candidate.value as { author: FeedId }).author
      let feed = byAuthor.get(author)
      if (!feed) byAuthor.set(author, (feed = []))
      feed.push({ ...candidate, key: verdict.key })
    }
    // Every feed's first batch in one atomic write; what is left of a feed (a long run, or the
    // messages after a refused one) follows feed by feed, each batch queued once the one
    // before it says how far it got.
    const feeds = Array.from(byAuthor, ([author, messages]) => ({ author, messages, batch: messages.slice(0, this.batchSize) }))
    const tally: Tally = { accepted: 0, duplicates: 0 }
    const first = await stageFeeds(this.store, feeds.map(({ author, batch }) => ({ feed: author, values: batch.map((m) => m.value), ids: batch.map((m) => m.key) })))
    const commits = [first.committed]
    for (const [i, { author, messages, batch }] of feeds.entries()) {
      const done = this.count(author, batch, first.results[i]!, tally)
      if (done < messages.length) await this.stageRest(author, messages, done, tally, commits)
    }
    const committed = Promise.all(commits).then(() => {
      this.accepted += tally.accepted
      this.duplicates += tally.duplicates
    })
    committed.catch(() => undefined)
    return { committed }
  }

  /** Stages one feed's messages from `start` on, batch by batch, carrying on after a refused one. */
  private async stageRest(author: FeedId, messages: Ready[], start: number, tally: Tally, commits: Array<Promise<void>>): Promise<void> {
    while (start < messages.length) {
      if (this.forked.has(author)) {
        for (const m of messages.slice(start)) {
          this.reject({ ...describe(m), key: m.key, code: 'ESTORE_FORKED', message: `${author} is forked; it accepts no more messages` }, true)
        }
        return
      }
      const batch = messages.slice(start, start + this.batchSize)
      const staged: StagedAppend = await stageFeeds(this.store, [{ feed: author, values: batch.map((m) => m.value), ids: batch.map((m) => m.key) }])
      commits.push(staged.committed)
      start += this.count(author, batch, staged.results[0]!, tally)
    }
  }

  /**
   * Takes in what the store said of `batch` (stored and duplicate messages into `tally`, to be
   * counted once written); returns how many of its messages are dealt with.
   */
  private count(author: FeedId, batch: Ready[], result: AppendResult, tally: Tally): number {
    tally.accepted += result.accepted.length
    tally.duplicates += result.duplicates
    if (result.forked) {
      // The store stopped at the message that revealed the fork.
      const at = result.accepted.length + result.duplicates
      const m = batch[at]!
      const fork = result.forked
      this.forked.add(author)
      this.reject({
        ...describe(m), key: m.key, code: 'EIMPORT_FORKED',
        message: `${author} signed two different messages at sequence ${fork.sequence}: the store holds ${fork.kept}, this one implies ${fork.conflicting}`,
      }, true)
      return at + 1
    }
    if (result.rejected) {
      const { index, error } = result.rejected
      if (error instanceof StoreError && error.code === 'ESTORE_FORKED') {
        // Forked before this import reached it: appendFeed refuses the rest.
        this.forked.add(author)
        return index
      }
      if (!(error instanceof MessageError)) throw error
      const m = batch[index]!
      this.reject({ ...describe(m), key: m.key, code: error.code, message: error.message }, true)
      return index + 1
    }
    return batch.length
  }

  private report(force: boolean): void {
    const onProgress = this.options.onProgress
    if (!onProgress) return
    const now = performance.now()
    if (!force && this.interval > 0 && now - this.lastReport < this.interval) return
    this.lastReport = now
    onProgress({
      read: this.read, accepted: this.accepted, duplicates: this.duplicates, rejected: this.rejectedCount,
      forked: this.forked.size, bytesRead: this.source.bytesRead(), totalBytes: this.source.totalBytes,
    })
  }
}

function position(record: { line?: number; offset: number }): { line?: number; offset: number } {
  return record.line === undefined ? { offset: record.offset } : { line: record.line, offset: record.offset }
}

/** What is known of a message for a rejection report. */
function describe(candidate: Candidate): Omit<ImportRejection, 'code' | 'message'> {
  const out: Omit<ImportRejection, 'code' | 'message'> = position(candidate)
  if (typeof candidate.claimedKey === 'string') out.key = candidate.claimedKey as MessageId
  const value = candidate.value as { author?: unknown; sequence?: unknown }
  if (typeof value.author === 'string') out.author = value.author as FeedId
  if (typeof value.sequence === 'number') out.sequence = value.sequence
  return out
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 70 ? `${text.slice(0, 70)}…` : text
}
