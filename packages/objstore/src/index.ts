/**
 * @thanos-ts/objstore: object storage buckets with Thanos's objstore semantics and config.
 *
 * A leaf package: it depends on no other thanos-ts package.
 */
export type { RetryPolicy } from './backoff.js';
export { DEFAULT_RETRY_POLICY, withBackoff } from './backoff.js';
export { collectBody } from './body.js';
export type { Bucket, BucketProvider, IterOptions, ObjectAttributes, OperationOptions, UploadBody } from './bucket.js';
export { DIR_DELIM } from './bucket.js';
export type { BucketConfig, BucketType } from './config/bucket-config.js';
export {
  ALIYUNOSS_CONFIG_FIELDS,
  AZURE_CONFIG_FIELDS,
  FILESYSTEM_CONFIG_FIELDS,
  HTTP_CONFIG_FIELDS,
  parseBucketConfig,
  S3_CONFIG_FIELDS,
  SUPPORTED_BUCKET_TYPES,
} from './config/bucket-config.js';
export type { CreateBucketOptions } from './config/factory.js';
export { createBucket, createBucketFromConfig, loadBucketConfig } from './config/factory.js';
export type { ConfigValues, FieldSpec } from './config/schema.js';
export {
  isAbortError,
  isObjNotFoundErr,
  isRetryableErr,
  ObjectNotFoundError,
  ObjstoreConfigError,
  ObjstoreError,
  ObjstoreInvalidArgumentError,
  ObjstoreOperationError,
} from './errors.js';
export { createAzureBucket } from './providers/azure/bucket.js';
export { type AzureBucketOptions, DEFAULT_AZURE_BLOCK_SIZE } from './providers/azure/options.js';
export type { FilesystemBucketOptions } from './providers/filesystem.js';
export { createFilesystemBucket, FILESYSTEM_TEMP_DIR } from './providers/filesystem.js';
export type { BucketHttpOptions } from './providers/http-agents.js';
export type { MemoryBucketOptions } from './providers/memory.js';
export { createMemoryBucket } from './providers/memory.js';
export { createOssBucket, OSS_PART_SIZE, type OssConfig, ossS3Options } from './providers/oss.js';
export { createS3Bucket, usesPathStyle } from './providers/s3/bucket.js';
export type {
  S3BucketLookupType,
  S3BucketOptions,
  S3ConfigKeyNames,
  S3HttpOptions,
  S3ServerSideEncryption,
} from './providers/s3/options.js';
export { DEFAULT_S3_PART_SIZE, MIN_S3_PART_SIZE } from './providers/s3/options.js';
export { uploadDir, uploadFile } from './upload.js';
export type { BucketMetricsOptions, BucketOperation } from './wrappers/metrics.js';
export { BUCKET_OPERATIONS, withMetrics } from './wrappers/metrics.js';
export { withPrefix } from './wrappers/prefix.js';
export { withRetries } from './wrappers/retry.js';
export { type BucketSpan, type BucketSpanner, withTracing } from './wrappers/tracing.js';
