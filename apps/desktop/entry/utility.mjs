// The utility process's entry. The peer's code runs from its TypeScript sources, as the CLI's
// does (apps/pub/bin/hearsay.js): tsx compiles them on load, so they are never bundled, and the
// workers some packages start from their own source files keep working.
import { register } from 'tsx/esm/api'

register()
await import('../src/utility-main.ts')
