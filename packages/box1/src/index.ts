export { Box1Error, type Box1ErrorCode } from './errors.ts'
export { isBoxedString } from './format.ts'
export { boxContent } from './box.ts'
export { createUnboxer, unboxWithKey, type Unboxer } from './unbox.ts'
