export { startApp, type App, type AppOptions } from './app.ts'
export {
  defaultDataDir, prepareDataDir, initialiseDataDir, isUninitialised, loadIdentity, openDataDirStore, replaceSecret, secretPath, storePath, blobsPath, DataDirError,
} from './data-dir.ts'
export { createHandlers, badArgument, STATUS_INTERVAL, MAX_UPLOAD_BYTES, type HandlerContext, type Session } from './handlers.ts'
export { clientApiPlugin, PLUGIN_NAME } from './muxrpc-plugin.ts'
export { startWebBridge, rendererDistDir, WebBridgeError, WEB_HOST, MAX_WS_MESSAGE, type WebBridge, type WebBridgeOptions } from './web.ts'
export { stripImageMetadata, sniffImageType, ImageMetadataError, type ImageType } from './image-metadata.ts'
