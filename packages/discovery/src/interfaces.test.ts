import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NetworkInterfaceInfo } from 'node:os'
import { defaultBroadcastTargets, hostFacing } from './interfaces.ts'

function ipv4(address: string, netmask: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: null }
}

// A laptop on Wi-Fi and Ethernet, with a VPN (/32) and IPv6 on the side.
const laptop = {
  lo: [ipv4('127.0.0.1', '255.0.0.0', true), { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: null, scopeid: 0 } as NetworkInterfaceInfo],
  wlan0: [ipv4('192.168.1.23', '255.255.255.0')],
  eth0: [ipv4('10.1.2.3', '255.255.0.0')],
  tun0: [ipv4('100.64.0.7', '255.255.255.255')],
}

test('the default targets are every external IPv4 subnet\'s broadcast address, announcing our address there', () => {
  assert.deepEqual(defaultBroadcastTargets(laptop), [
    { address: '192.168.1.255', host: '192.168.1.23' },
    { address: '10.1.255.255', host: '10.1.2.3' },
  ])
  assert.deepEqual(defaultBroadcastTargets({ lo: laptop.lo }), [], 'loopback alone: nothing to broadcast to')
})

test('a configured destination announces our address on its subnet', () => {
  assert.equal(hostFacing('127.0.0.1', laptop), '127.0.0.1')
  assert.equal(hostFacing('127.255.255.255', laptop), '127.0.0.1')
  assert.equal(hostFacing('192.168.1.255', laptop), '192.168.1.23')
  assert.equal(hostFacing('10.1.9.9', laptop), '10.1.2.3')
  assert.equal(hostFacing('8.8.8.8', laptop), '192.168.1.23', 'off every subnet: the first external address')
  assert.equal(hostFacing('8.8.8.8', { lo: laptop.lo }), null)
})
