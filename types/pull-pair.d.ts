// pull-pair ships no typings; only its duplex pair is used (two duplexes, each reading what the other writes).
declare module 'pull-pair/duplex.js' {
  import type { Duplex } from 'pull-stream'
  function duplexPair<T>(): [Duplex<T, T>, Duplex<T, T>]
  export default duplexPair
}
