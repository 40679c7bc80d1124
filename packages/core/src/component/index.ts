// @thanos-ts/core/component: the shared lifecycle and serving helpers, for writing a component.
export {
  ComponentClosedError,
  type ComponentOptions,
  createLifecycle,
  DEFAULT_GRACE_PERIOD_MS,
  type Lifecycle,
  type LifecycleHooks,
  type ResolvedComponentOptions,
  resolveComponentOptions,
  type ServingOptions,
  untilAborted,
} from './component.js';
export { RequestLoggingConfigError, WebConfigError } from './errors.js';
export { GRPC_MAX_MESSAGE_BYTES, type ServedGrpc, serveGrpc } from './grpc-server.js';
export { type ServeHTTPOptions, serveHTTP } from './http-server.js';
export {
  type LogDecision,
  NO_REQUEST_LOGGING,
  type ProtocolRequestLogging,
  parseRequestLoggingConfig,
  type RequestLoggingConfig,
  type RequestLogLevel,
  withRequestLogging,
} from './request-logging.js';
export { type BoundServers, bindServers, type ComponentEndpoints, componentHandler } from './serve.js';
export {
  CLIENT_AUTH_TYPES,
  type ClientAuthType,
  parseWebConfig,
  readWebConfigFile,
  validateWebConfig,
  type WebConfig,
  type WebTLSConfig,
  type WebTLSServerOptions,
  type WebTLSVersion,
  webTLSOptions,
  withWebConfig,
} from './web-config.js';
