// shs1-test server role: shs1-server.ts NETWORK_IDENTIFIER SERVER_SECRET_KEY SERVER_PUBLIC_KEY (hex).
import { identityFromSecretKey } from '@hearsay/keys'
import { runHandshake } from './shs1-role.ts'

const [network, secretKey] = process.argv.slice(2)
// msg2 (64 bytes) and msg4 (80) are what the server writes before the outcome.
runHandshake(identityFromSecretKey(Buffer.from(secretKey!, 'hex')), Buffer.from(network!, 'hex'), 64 + 80)
