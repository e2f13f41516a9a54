import { createHash } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { isBlobId, toBlobId, type BlobId } from '@hearsay/keys'
import { defineCommand, writeLine } from '../command.ts'
import { DATA_OPTION, resolveDataDir } from '../data.ts'
import { CliError, usageError } from '../errors.ts'
import { iterate, peerError, withRunningPeer } from '../running.ts'

// ssb-blobs' add and get as commands rather than generic method calls: add is a sink (the file
// streamed to the peer) and get's bytes are binary, neither of which fits JSON arguments and lines.

async function hashFile(file: string): Promise<BlobId> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return toBlobId(hash.digest())
}

export const blobsAdd = defineCommand({
  name: 'blobs.add',
  summary: 'store a file as a blob in the running peer, printing its id',
  usage: 'blobs.add FILE [--data DIR]',
  maxPositionals: 1,
  description: `
Streams FILE to the peer running on the data directory (\`hearsay start\`), which stores it
as a blob (ssb-blobs' blobs.add) and offers it to peers that want it. Prints the blob's id
(&<sha256 base64>.sha256), worked out here first: the peer refuses the bytes if they do not
hash to it (the file changed while it was read).`,
  options: { ...DATA_OPTION },
  examples: ['hearsay blobs.add photo.jpg'],
  async run({ values, positionals }, { env, stdout }) {
    const [file] = positionals
    if (file === undefined) throw usageError('blobs.add needs the FILE to add (see `hearsay blobs.add --help`)')
    let id: BlobId
    try {
      if (!(await fs.stat(file)).isFile()) throw new Error('not a regular file')
      id = await hashFile(file)
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`)
    }
    const { toPullSource } = await import('@hearsay/blobs')
    await withRunningPeer(resolveDataDir(values.data, env), async (peer) => {
      const add = (peer.rpc.blobs as { add(expected: BlobId, done: (err: unknown) => void): (source: unknown) => void }).add
      await new Promise<void>((resolve, reject) => {
        add(id, (err) => (err ? reject(peerError('blobs.add', err)) : resolve()))(toPullSource(createReadStream(file)))
      })
    })
    await writeLine(stdout, id)
  },
})

export const blobsGet = defineCommand({
  name: 'blobs.get',
  summary: 'write a blob from the running peer to stdout or a file',
  usage: 'blobs.get ID [--out FILE] [--data DIR]',
  maxPositionals: 1,
  description: `
Reads the blob ID (&<sha256 base64>.sha256) from the peer running on the data directory
and writes its bytes to stdout (not to a terminal: redirect it) or, with --out, to FILE,
which is only created once the whole blob has arrived. A blob the peer does not have
is an error; \`hearsay blobs.want ID\` asks its peers for it.`,
  options: {
    out: { type: 'string', value: 'FILE', description: 'write the bytes to FILE instead of stdout' },
    ...DATA_OPTION,
  },
  examples: ["hearsay blobs.get '&…=.sha256' --out photo.jpg", "hearsay blobs.get '&…=.sha256' > photo.jpg"],
  async run({ values, positionals }, { env, stdout }) {
    const [id] = positionals
    if (id === undefined) throw usageError('blobs.get needs the blob ID (see `hearsay blobs.get --help`)')
    if (!isBlobId(id)) throw usageError(`not a blob id (&<base64 sha256>.sha256): ${JSON.stringify(id.length > 200 ? `${id.slice(0, 200)}…` : id)}`)
    const out = values.out
    if (out === undefined && (stdout as { isTTY?: boolean }).isTTY) throw usageError('blobs.get writes binary bytes: redirect stdout to a file, or use --out FILE')
    await withRunningPeer(resolveDataDir(values.data, env), async (peer) => {
      const chunks = (async function* () {
        try {
          for await (const chunk of iterate<Uint8Array>(peer.source('blobs.get', id))) yield chunk
        } catch (err) {
          throw peerError('blobs.get', err)
        }
      })()
      if (out === undefined) {
        await pipeline(Readable.from(chunks), stdout, { end: false })
        return
      }
      // Into a temporary file beside FILE, renamed once complete: FILE never holds part of a blob.
      const partial = `${out}.${process.pid}.part`
      try {
        await pipeline(Readable.from(chunks), (await fs.open(partial, 'wx')).createWriteStream())
        await fs.rename(partial, out)
      } catch (err) {
        await fs.rm(partial, { force: true })
        if (err instanceof CliError) throw err
        throw new CliError(`cannot write ${out}: ${(err as Error).message}`)
      }
    })
  },
})
