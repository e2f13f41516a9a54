// What the desktop window's webPreferences must be, apart from the preload path. Kept apart from
// security.ts (which builds the options) so checking one against the other can fail; read by
// security.test.ts and by the web stress suite's policy check.
export const HARDENED_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  experimentalFeatures: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: true,
} as const
