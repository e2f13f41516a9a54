// The window's preload: bundled into one CommonJS file, since a sandboxed preload can require
// nothing but `electron`. The page gets `window.hearsay` and nothing else.
import { contextBridge, ipcRenderer } from 'electron'
import { exposeBridge } from './bridge.ts'

exposeBridge(contextBridge, ipcRenderer)
