import type { ApiSpec, Client, Subscription } from './define.ts'
import { ApiError, isApiErrorShape } from './errors.ts'
import type { Request, Response } from './protocol.ts'

/** How a client reaches the peer: send requests, get every response. One per bridge. */
export interface ClientTransport {
  send(request: Request): void
  /** Registers the one response listener; returns nothing. */
  onResponse(listener: (response: Response) => void): void
  /** Registers a listener for the link going away (every pending call then fails). */
  onClose(listener: (reason: string) => void): void
}

interface PendingCall {
  resolve(value: unknown): void
  reject(error: Error): void
}

interface OpenStream {
  push(value: unknown): void
  end(error?: Error): void
}

/**
 * A typed client for `spec` over `transport`: async methods return promises, source methods
 * return subscriptions to read with `for await` (and `close()` to stop early).
 */
export function createClient<Spec extends ApiSpec>(spec: Spec, transport: ClientTransport): Client<Spec> {
  const calls = new Map<number, PendingCall>()
  const streams = new Map<number, OpenStream>()
  let nextId = 1
  let closedReason: string | null = null

  const errorOf = (error: unknown) =>
    isApiErrorShape(error) ? new ApiError(error) : new ApiError({ name: 'Error', code: 'EAPI_PROTOCOL', message: 'malformed error from the peer' })

  transport.onResponse((response) => {
    if (response.type === 'result' || response.type === 'error') {
      const pending = calls.get(response.id)
      if (!pending) return
      calls.delete(response.id)
      if (response.type === 'result') pending.resolve(response.value)
      else pending.reject(errorOf(response.error))
    } else {
      const stream = streams.get(response.id)
      if (!stream) return
      if (response.type === 'item') stream.push(response.value)
      else {
        streams.delete(response.id)
        stream.end(response.error ? errorOf(response.error) : undefined)
      }
    }
  })

  const disconnected = () =>
    new ApiError({ name: 'Error', code: 'EAPI_DISCONNECTED', message: `lost the connection to the peer: ${closedReason}` })

  transport.onClose((reason) => {
    closedReason = reason
    const error = disconnected()
    for (const pending of calls.values()) pending.reject(error)
    for (const stream of streams.values()) stream.end(error)
    calls.clear()
    streams.clear()
  })

  const call = (method: string, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      if (closedReason !== null) return reject(disconnected())
      const id = nextId++
      calls.set(id, { resolve, reject })
      transport.send({ type: 'call', id, method, args })
    })

  const open = (method: string, args: unknown[]): Subscription<unknown> => {
    const id = nextId++
    const buffered: unknown[] = []
    let ended = false
    let failure: Error | null = closedReason !== null ? disconnected() : null
    let wake: (() => void) | null = null
    const notify = () => {
      const resume = wake
      wake = null
      resume?.()
    }
    if (failure === null) {
      streams.set(id, {
        push(value) {
          buffered.push(value)
          notify()
        },
        end(error) {
          ended = true
          if (error) failure = error
          notify()
        },
      })
      transport.send({ type: 'open', id, method, args })
    } else ended = true

    const close = () => {
      if (ended) return
      ended = true
      if (streams.delete(id) && closedReason === null) transport.send({ type: 'close', id })
      notify()
    }
    return {
      close,
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            if (buffered.length > 0) {
              yield buffered.shift()
              continue
            }
            if (failure) throw failure
            if (ended) return
            await new Promise<void>((resolve) => (wake = resolve))
          }
        } finally {
          close()
        }
      },
    }
  }

  const client: Record<string, (...args: unknown[]) => unknown> = {}
  for (const [name, method] of Object.entries(spec)) {
    client[name] = method.kind === 'source' ? (...args) => open(name, args) : (...args) => call(name, args)
  }
  return client as Client<Spec>
}
