// @thanos-ts/core/sidecar: the sidecar and its parts (Prometheus client, remote read, shipper, reloader).
export { NoExternalLabelsError, PrometheusAPIError, RemoteReadError, ShipperError } from './errors.js';
export {
  createPrometheusClient,
  type PrometheusClient,
  type PrometheusClientOptions,
  type PrometheusSeriesQuery,
  type WithWarnings,
} from './prometheus-client.js';
export { createPrometheusStore, type PrometheusStoreOptions } from './prometheus-store.js';
export { createReloader, expandEnv, type Reloader, ReloaderError, type ReloaderOptions } from './reloader.js';
export {
  DEFAULT_FRAME_SIZE_LIMIT,
  type RemoteReadOptions,
  type RemoteReadQuery,
  type RemoteReadResponseType,
  type RemoteReadSeries,
  type RemoteReadStats,
  remoteRead,
} from './remote-read.js';
export {
  createShipper,
  readShipperMeta,
  SHIPPER_META_FILENAME,
  type Shipper,
  type ShipperMeta,
  type ShipperOptions,
  type ShipperSyncResult,
  writeShipperMeta,
} from './shipper.js';
export { createSidecar, type Sidecar, type SidecarOptions } from './sidecar.js';
