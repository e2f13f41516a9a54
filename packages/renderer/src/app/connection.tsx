import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'
import { clientApi, createClient, type Client, type ClientApiSpec, type ClientTransport } from '@hearsay/client-api'
import { connectTransport, currentEnvironment } from '../transport/index.ts'

export type HearsayClient = Client<ClientApiSpec>

export type ConnectionState =
  | { phase: 'connecting'; attempt: number }
  | { phase: 'open'; client: HearsayClient; generation: number }
  | { phase: 'waiting'; retryAt: number; reason: string; attempt: number }
  /** The desktop app's bridge is made once by its preload: when it closes, only a restart helps. */
  | { phase: 'lost'; reason: string }

const ClientContext = createContext<HearsayClient | null>(null)

const clients = new WeakMap<ClientTransport, HearsayClient>()

/** The one client of a transport (a transport has a single response listener, so never two). */
export function clientFor(transport: ClientTransport): HearsayClient {
  let client = clients.get(transport)
  if (!client) clients.set(transport, (client = createClient(clientApi, transport)))
  return client
}

/** The typed client of the current connection (pages remount with a new one after a reconnect). */
export function useClient(): HearsayClient {
  const client = useContext(ClientContext)
  if (!client) throw new Error('useClient outside a connected ClientProvider')
  return client
}

const FIRST_RETRY_MS = 500
const LONGEST_RETRY_MS = 10_000

/**
 * Keeps a connection to the peer: a new transport and client after every drop, retrying with
 * exponential backoff. A client dies with its transport, so children are keyed by generation
 * and reload what they show.
 */
export function useConnection(firstAttempt?: Promise<ClientTransport>): ConnectionState {
  const [state, setState] = useState<ConnectionState>({ phase: 'connecting', attempt: 0 })

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let generation = 0
    let pendingFirst = firstAttempt
    const attemptConnection = async (attempt: number) => {
      if (stopped) return
      setState({ phase: 'connecting', attempt })
      try {
        const pending = pendingFirst ?? connectTransport()
        pendingFirst = undefined
        const transport = await pending
        if (stopped) return
        transport.onClose((reason) => {
          if (stopped) return
          if (currentEnvironment() === 'electron') setState({ phase: 'lost', reason })
          else retry(0, reason)
        })
        generation++
        setState({ phase: 'open', client: clientFor(transport), generation })
      } catch (err) {
        retry(attempt + 1, (err as Error).message)
      }
    }
    const retry = (attempt: number, reason: string) => {
      const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt)
      setState({ phase: 'waiting', retryAt: Date.now() + delay, reason, attempt })
      timer = setTimeout(() => void attemptConnection(attempt), delay)
    }
    void attemptConnection(0)
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [])

  return state
}

export function ClientProvider({ client, children }: { client: HearsayClient; children: ReactNode }) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>
}
