/**
 * What Node-side code needs of the renderer: where its build lives. Web mode serves this
 * folder; the desktop app loads its index.html. (`npm install` builds it via the root `prepare`.)
 */
export const rendererDistUrl = new URL('../dist/', import.meta.url)
