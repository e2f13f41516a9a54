/** An encoder was asked to announce something no peer could parse or verify. */
export class InvalidBeaconError extends Error {
  override readonly name = 'InvalidBeaconError'
  readonly code = 'EINVALIDBEACON'
}

/** createLanDiscovery was given options it cannot work with; thrown before any socket opens. */
export class DiscoveryOptionsError extends Error {
  override readonly name = 'DiscoveryOptionsError'
  readonly code = 'EDISCOVERYOPTIONS'
}
