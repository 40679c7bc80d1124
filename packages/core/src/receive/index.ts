// @thanos-ts/core/receive: Thanos's receiver (remote write in, per-tenant TSDBs, hashring routing
// and replication, blocks out) and the pieces it is built from.

export { GO_CIPHER_SUITES, GO_CURVES, TLS_VERSIONS, type TLSVersion } from '../tls/go-names.js';
export {
  DecodeRequestError,
  HTTP_STATUS_OF,
  InsufficientNodesError,
  InvalidTenantError,
  LimitError,
  PruneTenantError,
  ReceiveConfigError,
  WriteError,
  type WriteFailureKind,
} from './errors.js';
export {
  createHashmodHashring,
  createKetamaHashring,
  createMultiHashring,
  createSingleNodeHashring,
  HASHRING_ALGORITHMS,
  type Hashring,
  type HashringAlgorithm,
  type HashringConfig,
  type HashringEndpoint,
  hashSeries,
  parseHashringsConfig,
  SECTIONS_PER_NODE,
} from './hashring.js';
export {
  type LimitsConfig,
  NO_LIMITS,
  parseLimitsConfig,
  type RequestLimits,
  type TenantLimits,
  tenantLimits,
} from './limits.js';
export { type PruneAction, type PruneResult, pruneAction, validateTenant } from './multi-tsdb.js';
export {
  decodeOTLPRequest,
  OTLP_PATH,
  OTLP_ZERO_THRESHOLD,
  type OTLPSettings,
  type OTLPTranslation,
  otlpBucketsLayout,
  otlpLabelName,
  otlpMetricName,
  translateOTLP,
} from './otlp.js';
export {
  connectWriteablePeer,
  type PeerTLSOptions,
  REMOTE_WRITE_METHOD,
  serveWriteable,
  type WriteablePeer,
} from './peer.js';
export {
  createReceiver,
  DEFAULT_REPLICA_HEADER,
  DEFAULT_TENANT_HEADER,
  DEFAULT_TENANT_ID,
  DEFAULT_TENANT_LABEL,
  REMOTE_WRITE_PATH,
  type Receiver,
  type ReceiverIngestOptions,
  type ReceiverOptions,
  type ReceiverWrite,
} from './receiver.js';
export { writeQuorum } from './router.js';
export { relabelSeries, splitTenants } from './series-transform.js';
export {
  checkRemoteWriteServerTLS,
  nodeCipherList,
  nodeCurveList,
  type RemoteWriteServerTLS,
  TENANT_CERTIFICATE_FIELDS,
  type TenantCertificateField,
  tenantFromCertificate,
} from './tls-server.js';
export {
  decodeForwardRequest,
  decodeWriteRequest,
  decodeWriteRequestV2,
  encodeForwardRequest,
  encodeWriteRequest,
  type ForwardRequest,
  type TenantSeries,
  type WireLabel,
  type WriteRequestV2,
  type WriteSeries,
} from './wire.js';
export {
  GroupWriter,
  validateLabels,
  type WriteResult,
  type WriteSeriesOptions,
  writeSeries,
} from './writer.js';
