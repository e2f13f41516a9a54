import type { Duplex, Source } from 'pull-stream'
import { isFeedId, isMessageId, type FeedId, type Identity } from '@hearsay/keys'
import { boxContent, createUnboxer } from '@hearsay/box1'
import type { Content } from '@hearsay/message'
import { isBlocking, isFollowing, type IndexedMessage, type Store } from '@hearsay/store'
import { MANIFEST } from './manifest.ts'
import { pushable } from './pull.ts'
import {
  RpcArgumentError, formatMessage, historyStream, logStream, parseHistoryStreamArgs, parseLogStreamArgs, type StoreNotifier,
} from './streams.ts'
import { ReadBudget } from './backpressure.ts'

/**
 * Messages a peer's history streams may hold read and not yet handed to muxrpc, all its streams
 * together (see ReadBudget): 20 full batches.
 */
export const HELD_PER_CONNECTION = 2000

/** What the handlers of one connection need. */
export interface ApiContext {
  store: Store
  identity: Identity
  notifier: StoreNotifier
  /** Who is calling: the connection's proven key. */
  remote: FeedId
  /** gossip.connect: dial an address. */
  connect(address: string): Promise<{ id: FeedId; address: string }>
  /** Told of each createHistoryStream the remote opens (replication waits for the first; see Peer). */
  onHistoryStream?: () => void
  /** ebt.replicate: the duplex that replicates with the remote by EBT (throws when it may not). */
  ebtReplicate?: (options: unknown) => Duplex<unknown, unknown>
  /** Handlers only our own key gets (status, conn.*: see owner-api.ts). */
  owner?: Record<string, unknown>
}

type Callback = (err: Error | null, value?: unknown) => void

/** An async handler for muxrpc: the callback comes last; rejections become error responses. */
export function asyncMethod(fn: (...args: unknown[]) => Promise<unknown>) {
  return (...args: unknown[]) => {
    const cb = args.pop() as Callback
    let promise: Promise<unknown>
    try {
      promise = fn(...args)
    } catch (err) {
      cb(rpcError(err))
      return
    }
    promise.then(
      (value) => cb(null, value ?? null),
      (err: unknown) => cb(rpcError(err)),
    )
  }
}

/**
 * A source handler: argument errors and rejections become a stream that ends in that error, and
 * a stream that fails ends in the error as `rpcError` shapes it.
 */
export function sourceMethod(fn: (...args: unknown[]) => Source<unknown>) {
  return (...args: unknown[]): Source<unknown> => {
    let source: Source<unknown>
    try {
      source = fn(...args)
    } catch (err) {
      const error = rpcError(err)
      return (_abort, cb) => cb(error)
    }
    return (abort, cb) => source(abort, (end, data) => cb(end instanceof Error ? rpcError(end) : end, data))
  }
}

/**
 * The error as sent to the caller: its name, message and stable code without our stack. muxrpc
 * carries only name, message and stack, so a code travels in the stack's one line,
 * `Name [CODE]: message`, where `codeOfRpcError` reads it back.
 */
export function rpcError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err)
  const error = new Error(message)
  error.name = err instanceof Error ? err.name : 'Error'
  const code = (err as { code?: unknown } | null)?.code
  error.stack = typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? `${error.name} [${code}]: ${message}` : `${error.name}: ${message}`
  return error
}

/** The stable code an error from a muxrpc call carries (see `rpcError`), if any. */
export function codeOfRpcError(err: unknown): string | null {
  const stack = (err as { stack?: unknown } | null)?.stack
  const match = typeof stack === 'string' ? /^[^\n[]* \[([A-Z0-9_]+)\]: /.exec(stack) : null
  return match ? match[1]! : null
}

function contentOf(value: unknown, method: string): Content {
  if (typeof value === 'string') return value
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    throw new RpcArgumentError(`${method}: content must be an object with a type`)
  }
  return value as Content
}

/** Recipients as ssb-db accepts them: feed ids, or `{link: feedId}`. */
function recipientsOf(value: unknown, method: string): FeedId[] {
  if (!Array.isArray(value) || value.length === 0) throw new RpcArgumentError(`${method}: recps must be a non-empty array of feed ids`)
  const feeds = value.map((recp: unknown) => (recp !== null && typeof recp === 'object' ? (recp as { link?: unknown }).link : recp))
  for (const feed of feeds) if (!isFeedId(feed)) throw new RpcArgumentError(`${method}: not a feed id: ${JSON.stringify(feed)?.slice(0, 80)}`)
  return [...new Set(feeds as FeedId[])]
}

function shaped(message: IndexedMessage) {
  return formatMessage(message, true, true)
}

/**
 * The muxrpc handlers for one connection, over the store. Which of them the remote may call is
 * decided by the permissions the connection was set up with (see manifest.ts).
 */
export function createApi(context: ApiContext) {
  const { store, identity, notifier, remote } = context
  const unboxer = createUnboxer(identity)
  const local = remote === identity.id
  // Our own key's streams (the owner's tools) are not held to it.
  const held = local ? undefined : new ReadBudget(HELD_PER_CONNECTION)

  const publish = async (content: Content) => {
    let final = content
    if (typeof content === 'object' && content.recps !== undefined) {
      final = boxContent(content, recipientsOf(content.recps, 'publish'))
    }
    return shaped(await store.publish(identity, final))
  }

  return {
    ...(local ? context.owner : undefined),
    manifest: () => MANIFEST,
    whoami: () => ({ id: identity.id }),

    publish: asyncMethod(async (content) => publish(contentOf(content, 'publish'))),

    get: asyncMethod(async (arg) => {
      const options = (arg !== null && typeof arg === 'object' ? arg : { id: arg }) as { id?: unknown; private?: unknown; meta?: unknown }
      if (!isMessageId(options.id)) throw new RpcArgumentError(`get: not a message id: ${JSON.stringify(options.id)?.slice(0, 80)}`)
      const message = await store.get(options.id, { decrypt: options.private === true })
      if (message === null) throw new Error(`not found: ${options.id}`)
      return options.meta === true ? shaped(message) : message.value
    }),

    createHistoryStream: sourceMethod((...args) => {
      const options = parseHistoryStreamArgs(args)
      context.onHistoryStream?.()
      // ssb-replicate's rule: a feed that blocks the caller is not served to it.
      const gate = local ? undefined : async () => !(await isBlocking(store, options.id, remote))
      return historyStream(store, notifier, options, gate, held)
    }),

    createLogStream: sourceMethod((...args) => logStream(store, notifier, parseLogStreamArgs(args))),

    latestSequence: asyncMethod(async (feed) => {
      const id = feed !== null && typeof feed === 'object' ? (feed as { id?: unknown }).id : feed
      if (!isFeedId(id)) throw new RpcArgumentError('latestSequence: not a feed id')
      const status = await store.feedStatus(id)
      if (status === null) throw new Error(`not found: ${id}`)
      return status.sequence
    }),

    gossip: {
      ping: (options?: unknown) => ping(options),
      connect: asyncMethod(async (address) => {
        const text = typeof address === 'string' ? address : (address as { address?: unknown } | null)?.address
        if (typeof text !== 'string') throw new RpcArgumentError('gossip.connect: give a net:HOST:PORT~shs:KEY address')
        return context.connect(text)
      }),
    },

    private: {
      publish: asyncMethod(async (content, recps) => {
        const body = contentOf(content, 'private.publish')
        if (typeof body === 'string') throw new RpcArgumentError('private.publish: content must be an object with a type')
        return shaped(await store.publish(identity, boxContent(body, recipientsOf(recps, 'private.publish'))))
      }),
      unbox: (data: unknown) => {
        if (typeof data === 'string') return unboxer.unbox(data) ?? null
        const value = (data as { value?: { content?: unknown } } | null)?.value
        if (value && typeof value.content === 'string') {
          const content = unboxer.unbox(value.content)
          if (content === undefined) return null
          return { ...(data as object), value: { ...value, content }, private: true }
        }
        return null
      },
    },

    friends: {
      follow: asyncMethod(async (feed, options) => {
        if (!isFeedId(feed)) throw new RpcArgumentError(`friends.follow: not a feed id: ${JSON.stringify(feed)?.slice(0, 80)}`)
        const state = (options as { state?: unknown } | null)?.state
        return publish({ type: 'contact', contact: feed, following: typeof state === 'boolean' ? state : true })
      }),
      isFollowing: asyncMethod(async (options) => {
        const { source, dest } = (options ?? {}) as { source?: unknown; dest?: unknown }
        if (!isFeedId(source) || !isFeedId(dest)) throw new RpcArgumentError('friends.isFollowing takes {source, dest} feed ids')
        return isFollowing(store, source, dest)
      }),
      block: asyncMethod(async (feed, options) => {
        if (!isFeedId(feed)) throw new RpcArgumentError(`friends.block: not a feed id: ${JSON.stringify(feed)?.slice(0, 80)}`)
        const state = (options as { state?: unknown } | null)?.state
        return publish({ type: 'contact', contact: feed, blocking: typeof state === 'boolean' ? state : true })
      }),
      isBlocking: asyncMethod(async (options) => {
        const { source, dest } = (options ?? {}) as { source?: unknown; dest?: unknown }
        if (!isFeedId(source) || !isFeedId(dest)) throw new RpcArgumentError('friends.isBlocking takes {source, dest} feed ids')
        return isBlocking(store, source, dest)
      }),
    },

    ebt: {
      replicate: (options?: unknown) => {
        if (!context.ebtReplicate) throw new Error('ebt.replicate: not with this connection')
        return context.ebtReplicate(options)
      },
    },
  }
}

/** How long ping waits before serving again (pull-ping's default: 5 minutes). */
const PING_INTERVAL = 5 * 60_000

/**
 * gossip.ping, as pull-ping plays it: timestamps volley back and forth, each side serving in
 * turn, which keeps the connection alive and shows clock skew.
 */
function ping(options: unknown) {
  const requested = (options as { timeout?: unknown } | null)?.timeout
  const interval = typeof requested === 'number' && requested >= 10_000 ? Math.min(requested, 30 * 60_000) : PING_INTERVAL
  let timer: NodeJS.Timeout | null = null
  const out = pushable<number>(() => {
    if (timer) clearTimeout(timer)
  })
  let serving = false
  const serve = () => {
    serving = true
    out.push(Date.now())
  }
  return {
    source: out.source,
    sink(read: Source<unknown>) {
      const next = (): void =>
        read(null, (end) => {
          if (end) return out.end()
          if (serving) serving = false
          else {
            out.push(Date.now())
            if (timer) clearTimeout(timer)
            timer = setTimeout(serve, interval)
            timer.unref()
          }
          next()
        })
      next()
    },
  }
}
