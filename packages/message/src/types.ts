import type { FeedId, MessageId, SignatureString } from '@hearsay/keys'

/** Public content is an object with a `type`; private (box1) content is a `….box` string. */
export type Content = { type: string; [field: string]: unknown } | string

/** A classic message, the `value` the network signs and replicates. */
export interface MessageValue {
  previous: MessageId | null
  author: FeedId
  sequence: number
  timestamp: number
  hash: 'sha256'
  content: Content
  signature: SignatureString
}

/** The `{key, value, timestamp}` shape every SSB store and RPC passes around. */
export interface Message {
  key: MessageId
  value: MessageValue
  /** When this peer received it (ms since epoch); the author's claim is `value.timestamp`. */
  timestamp: number
}

/** What validating a feed's next message needs to know about the feed so far. */
export interface FeedState {
  id: MessageId
  sequence: number
  timestamp: number
}

/** 32 bytes, or canonical base64 of 32 bytes; null/undefined for the main network. */
export type HmacKey = Uint8Array | string | null | undefined
