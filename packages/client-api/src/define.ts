/**
 * How the client API is declared: each method once, with its muxrpc kind and (as phantom types)
 * its arguments and result. The renderer's client, the handlers the peer implements, the bridges'
 * dispatch and the muxrpc manifest are all derived from that one declaration.
 */

export type MethodKind = 'async' | 'source'

export interface MethodSpec<Kind extends MethodKind, Args extends unknown[], Result> {
  readonly kind: Kind
  /** Never set: carries the types for the mapped types below. */
  readonly types?: { args: Args; result: Result }
}

/** A request/response method. */
export function asyncMethod<Args extends unknown[], Result>(): MethodSpec<'async', Args, Result> {
  return { kind: 'async' }
}

/** A stream of values (live queries, status): ends when the caller closes it or on error. */
export function sourceMethod<Args extends unknown[], Item>(): MethodSpec<'source', Args, Item> {
  return { kind: 'source' }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ApiSpec = Record<string, MethodSpec<MethodKind, any[], unknown>>

type ArgsOf<M> = M extends MethodSpec<MethodKind, infer Args, unknown> ? Args : never
type ResultOf<M> = M extends MethodSpec<MethodKind, unknown[], infer Result> ? Result : never

/** A stream the caller reads with `for await` and may stop early with `close()`. */
export interface Subscription<Item> extends AsyncIterable<Item> {
  close(): void
}

/** What a caller (the renderer) sees. */
export type Client<Spec extends ApiSpec> = {
  [Name in keyof Spec]: Spec[Name]['kind'] extends 'source'
    ? (...args: ArgsOf<Spec[Name]>) => Subscription<ResultOf<Spec[Name]>>
    : (...args: ArgsOf<Spec[Name]>) => Promise<ResultOf<Spec[Name]>>
}

/**
 * What the peer side implements. A source handler returns an async iterable; the bridge calls
 * its `return()` when the caller closes the stream or goes away.
 */
export type Handlers<Spec extends ApiSpec> = {
  [Name in keyof Spec]: Spec[Name]['kind'] extends 'source'
    ? (...args: ArgsOf<Spec[Name]>) => AsyncIterable<ResultOf<Spec[Name]>>
    : (...args: ArgsOf<Spec[Name]>) => Promise<ResultOf<Spec[Name]>>
}

/** The muxrpc manifest of a spec: each method's kind, as secret-stack plugins declare them. */
export function manifestOf<Spec extends ApiSpec>(spec: Spec): { [Name in keyof Spec]: Spec[Name]['kind'] } {
  const manifest: Record<string, MethodKind> = {}
  for (const [name, method] of Object.entries(spec)) manifest[name] = method.kind
  return manifest as { [Name in keyof Spec]: Spec[Name]['kind'] }
}
