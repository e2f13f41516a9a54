// shs1-test client role: shs1-client.ts NETWORK_IDENTIFIER SERVER_PUBLIC_KEY (hex).
import { generateIdentity } from '@hearsay/keys'
import { runHandshake } from './shs1-role.ts'

const [network, serverKey] = process.argv.slice(2)
// msg1 (64 bytes) and msg3 (112) are what the client writes before the outcome.
runHandshake(generateIdentity(), Buffer.from(network!, 'hex'), 64 + 112, Buffer.from(serverKey!, 'hex'))
