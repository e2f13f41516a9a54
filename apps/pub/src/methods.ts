import minimist from 'minimist'
import type { LocalClient } from '@hearsay/network'
import type { Context } from './command.ts'
import { writeLine } from './command.ts'
import { resolveDataDir } from './data.ts'
import { CliError, usageError } from './errors.ts'
import { asksForHelp } from './args.ts'
import { callPeer, connectRunning, iterate, peerError, usePeer } from './running.ts'

// As ssb-server's CLI does: `hearsay METHOD [ARGS] [--OPTION VALUE]` calls any muxrpc method the
// running peer offers its own key, read from its manifest.

type Manifest = LocalClient['manifest']

/** The arguments of a method call: positionals, then the flags as one options object. */
export function methodArguments(argv: readonly string[]): { args: unknown[]; data: string | undefined } {
  // minimist looks flag names up in plain objects: one named like an Object.prototype member
  // (--constructor, --toString) makes it throw a TypeError instead of reading it.
  for (const arg of argv) {
    if (arg === '--') break
    const name = /^--(?:no-)?([^=.]*)/.exec(arg)?.[1]
    if (name !== undefined && name in Object.prototype) throw usageError(`${arg.split('=')[0]} is not an option any method takes`)
  }
  let parsed: minimist.ParsedArgs
  try {
    // Positionals stay strings here, to be read as JSON below like the flags' values.
    parsed = minimist([...argv], { string: ['_', 'data'] })
  } catch (err) {
    // minimist throws a TypeError when a dotted flag reaches into a plain value (`--a=1 --a.b=2`).
    throw usageError(`these options cannot be read together: ${argv.filter((arg) => arg.startsWith('--')).join(' ')} (${(err as Error).message})`)
  }
  const { _: positionals, data, ...flags } = parsed
  if (Array.isArray(data)) throw usageError('--data was given more than once')
  // `--data.x=…` would make it an object, and the data directory "[object Object]".
  if (data !== undefined && typeof data !== 'string') throw usageError('--data takes a directory: --data DIR')
  const args: unknown[] = positionals.map(jsonOrString)
  const options = Object.fromEntries(Object.entries(flags).map(([name, value]) => [name, reviveFlag(value)]))
  if (Object.keys(options).length > 0) args.push(options)
  return { args, data: data === undefined ? undefined : String(data) }
}

/** `3` is a number, `{"a":1}` an object, `true` a boolean; `@feed.ed25519` stays a string. */
function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function reviveFlag(value: unknown): unknown {
  if (typeof value === 'string') return jsonOrString(value)
  if (Array.isArray(value)) return value.map(reviveFlag)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reviveFlag(v)]))
  return value
}

/** The kind of `name` (`a.b.c`) in `manifest`, a namespace's manifest, or undefined. */
export function lookupMethod(manifest: Manifest, name: string): Manifest[string] | undefined {
  let entry: Manifest[string] | undefined = manifest
  for (const part of name.split('.')) {
    if (entry === undefined || typeof entry === 'string' || !Object.hasOwn(entry, part)) return undefined
    entry = entry[part]
  }
  return entry
}

/**
 * Runs `hearsay NAME ...argv` as a call of the running peer's method NAME: async and sync
 * results printed as JSON, sources as one JSON line per item. Without a running peer, or when
 * it has no such method, NAME is an unknown command.
 */
export async function runMethod(name: string, argv: readonly string[], context: Context, unknown: CliError): Promise<void> {
  const { args, data } = methodArguments(argv)
  const dataDir = resolveDataDir(data, context.env)
  const client = await connectRunning(dataDir)
  if (client === null) throw usageError(`${unknown.message}, and no peer is running on ${dataDir} to offer it as a method (start one with \`hearsay start\`)`)
  await usePeer(client, async (peer) => {
    const kind = lookupMethod(peer.manifest, name)
    if (kind === undefined) throw usageError(`${unknown.message}, nor a method of the running peer (\`hearsay manifest\` lists them)`)
    if (typeof kind !== 'string') throw usageError(`${name} is a group of methods: ${Object.keys(kind).map((method) => `${name}.${method}`).join(', ')}`)
    if (asksForHelp(argv)) {
      await writeLine(context.stdout, `${name} is a ${kind} method of the running peer: hearsay ${name} [ARGS] [--OPTION VALUE]\nARGS are read as JSON where they parse, else as strings; the --OPTIONs make one options object.`)
      return
    }
    if (kind === 'sync' || kind === 'async') {
      const result = await callPeer<unknown>(peer, name, ...args)
      await writeLine(context.stdout, JSON.stringify(result ?? null, null, 2))
      return
    }
    if (kind !== 'source') throw usageError(`${name} is a ${kind} method: it cannot be called from the command line`)
    try {
      for await (const item of iterate(peer.source<unknown>(name, ...args))) await writeLine(context.stdout, JSON.stringify(item))
    } catch (err) {
      throw peerError(name, err)
    }
  })
}
