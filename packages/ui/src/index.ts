export {
  ASSETS_PATH,
  type AssetManifest,
  createUIHandler,
  type UIHandlerOptions,
  type UIPage,
  type UIRequestHandler,
} from './handler.js';
