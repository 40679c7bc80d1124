// @thanos-ts/core/http: the Prometheus HTTP API and the HTTP plumbing every component serves.
export { APIError, type APIErrorType, apiErrorOf } from './api-error.js';
export {
  type ComponentHandlerOptions,
  createComponentHandler,
  type ListenHTTPOptions,
  type ListeningHTTPServer,
  listenHTTP,
  MAX_HEADER_BYTES,
  splitHostPort,
} from './http-server.js';
export { instrumentHandler } from './instrument.js';
export { formatSampleValue, formatTimestamp } from './json.js';
export { type BuildInfo, createQueryAPIHandler, type QueryAPIOptions, type RequestHandler } from './query-api.js';
