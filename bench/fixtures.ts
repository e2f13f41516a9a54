// The benches read the shared fixtures through @hearsay/test-fixtures, like the tests.
export { loadFixtureMessages as loadMessages, messagesPath, type FixtureMessage } from '@hearsay/test-fixtures'
