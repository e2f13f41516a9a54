// Raw HTTP/1.1 on 127.0.0.1: the bytes of a request exactly as written (duplicated or missing
// Host headers, absolute-form targets), which no HTTP client library will send.
import net from 'node:net'

export interface RawAnswer {
  status: number
  /** Header names lowercased; a repeated header keeps every value. */
  headers: Map<string, string[]>
  /** The body read so far (all of it for a closed connection). */
  body: string
}

const ANSWER_TIMEOUT_MS = 10_000

/** `[name, value]` pairs, kept in order and as given (duplicates too). */
export type RawHeaders = ReadonlyArray<readonly [string, string]>

export function rawRequest(port: number, method: string, target: string, headers: RawHeaders, version = 'HTTP/1.1'): Promise<RawAnswer> {
  const head = [`${method} ${target} ${version}`, ...headers.map(([name, value]) => `${name}: ${value}`)].join('\r\n')
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`))
    }, ANSWER_TIMEOUT_MS)
    const finish = (closed: boolean) => {
      const text = received.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      // An upgrade (101) keeps the connection open: its head is all there is to read.
      if (end < 0 || (!closed && !text.startsWith('HTTP/1.1 101'))) return false
      clearTimeout(timer)
      socket.destroy()
      resolve(parse(text.slice(0, end), text.slice(end + 4)))
      return true
    }
    socket.on('connect', () => socket.write(`${head}\r\n\r\n`))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      finish(false)
    })
    socket.on('end', () => {
      if (!finish(true)) {
        clearTimeout(timer)
        reject(new Error(`connection closed before a whole answer: ${JSON.stringify(received.toString('latin1').slice(0, 80))}`))
      }
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

function parse(head: string, body: string): RawAnswer {
  const [statusLine, ...lines] = head.split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1])
  if (!Number.isInteger(status)) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`)
  const headers = new Map<string, string[]>()
  for (const line of lines) {
    const at = line.indexOf(':')
    if (at <= 0) continue
    const name = line.slice(0, at).trim().toLowerCase()
    headers.set(name, [...(headers.get(name) ?? []), line.slice(at + 1).trim()])
  }
  return { status, headers, body }
}
