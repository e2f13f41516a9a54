export { decodeCanonicalBase64, isCanonicalBase64 } from './base64.ts'
export * from './refs.ts'
export * from './identity.ts'
export * from './secret-file.ts'
