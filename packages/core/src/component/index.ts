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
export { GRPC_MAX_MESSAGE_BYTES, type ServedGrpc, serveGrpc } from './grpc-server.js';
export { type BoundServers, bindServers, type ComponentEndpoints, componentHandler } from './serve.js';
