import { feedPublicKey, isFeedId, type FeedId } from '@hearsay/keys'

/** One attendant reached through a room: `tunnel:@ROOM.ed25519:@TARGET.ed25519~shs:TARGET`. */
export interface TunnelAddress {
  /** The canonical spelling, `~shs:` part included, as ssb-room-client writes it. */
  readonly address: string
  /** The room (ssb-room-client's `portal`) relaying the connection. */
  readonly portal: FeedId
  /** The attendant, whose key the inner handshake must prove. */
  readonly key: FeedId
}

export function formatTunnelAddress(portal: FeedId, target: FeedId): string {
  return `tunnel:${portal}:${target}~shs:${feedPublicKey(target).toString('base64')}`
}

/**
 * The first `tunnel:` address of a (possibly `;`-separated) multiserver address, or null. The
 * `~shs:KEY` part may be left out; when present it must name the target's own key.
 */
export function parseTunnelAddress(text: string): TunnelAddress | null {
  for (const part of text.split(';')) {
    const match = /^tunnel:(@[^:~]+\.ed25519):(@[^:~]+\.ed25519)(?:~shs:([^:~;]+))?$/.exec(part)
    if (!match) continue
    const [, portal, target, shs] = match
    if (!isFeedId(portal) || !isFeedId(target) || portal === target) continue
    if (shs !== undefined && shs !== feedPublicKey(target).toString('base64')) continue
    return { address: formatTunnelAddress(portal, target), portal, key: target }
  }
  return null
}
