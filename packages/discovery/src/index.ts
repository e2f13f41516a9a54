export { parseLanAddress } from './address.ts'
export {
  BEACON_INTERVAL, ENCRYPTED_PORT, LEGACY_PORT, MAX_BEACON_BYTES,
  decodeCaps, encodeEncryptedBeacon, encodeLegacyBeacon, parseEncryptedBeacon, parseLegacyBeacon,
} from './beacon.ts'
export { DiscoveryOptionsError, InvalidBeaconError } from './errors.ts'
export { defaultBroadcastTargets, hostFacing, type BroadcastTarget } from './interfaces.ts'
export { MDNS_SERVICE_TYPE, mdnsInstanceName, mdnsTxt, parseMdnsService, type MdnsOptions } from './mdns.ts'
export {
  DEFAULT_DEDUPE_WINDOW, LanDiscovery, createLanDiscovery,
  type DiscoveredPeer, type LanDiscoveryEvents, type LanDiscoveryOptions, type PeerSource, type UdpChannelOptions,
} from './lan-discovery.ts'
