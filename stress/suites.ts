import type { StressSuite } from './harness.ts'

// Each suite is imported only when it runs, so one suite's setup never slows another.
export const suites: Record<string, () => Promise<StressSuite>> = {
  fuzz: () => import('./fuzz.ts'),
  crash: () => import('./crash.ts'),
  load: () => import('./load.ts'),
  web: () => import('./web.ts'),
}
