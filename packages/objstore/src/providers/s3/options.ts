import type { RetryPolicy } from '../../backoff.js';
import type { BucketHttpOptions } from '../http-agents.js';

/** Server-side encryption, as Thanos's `sse_config` (`type`: SSE-S3, SSE-KMS or SSE-C). */
export type S3ServerSideEncryption =
  | { type: 'SSE-S3' }
  | { type: 'SSE-KMS'; kmsKeyId: string; kmsEncryptionContext?: Record<string, string> }
  | { type: 'SSE-C'; encryptionKey: Uint8Array };

/** How the bucket appears in URLs (Thanos's `bucket_lookup_type`). */
export type S3BucketLookupType = 'auto' | 'virtual-hosted' | 'path';

/** HTTP client settings (Thanos's `http_config`), durations in ms; shared with the other providers. */
export type S3HttpOptions = BucketHttpOptions;

/**
 * The config key names that error messages point at. Defaults are the S3 keys; the ALIYUNOSS
 * mapping passes its own (`access_key_id`, …) so a message names a key the user actually has.
 */
export interface S3ConfigKeyNames {
  bucket: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  insecure: string;
}

/** Options of `createS3Bucket` (the typed form of Thanos's S3 `config:` block). */
export interface S3BucketOptions {
  /** Bucket name. Required. */
  bucket: string;
  /** `host[:port]` of the S3 API, without scheme (Thanos's `endpoint`). Required. */
  endpoint: string;
  /** Region used for request signing (default "us-east-1"). */
  region?: string;
  /** Static credentials; when unset the AWS SDK default chain (env, files, IMDS) is used. */
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** Use http instead of https (Thanos's `insecure`). */
  insecure?: boolean;
  /** Default "auto": virtual-hosted for AWS, Aliyun and Google endpoints, path style elsewhere. */
  bucketLookupType?: S3BucketLookupType;
  /** Use ListObjects v1 instead of v2 (Thanos's `list_objects_version: v1`). */
  listObjectsV1?: boolean;
  /** Keys per listing page (S3's MaxKeys; default and maximum 1000). Smaller pages cost more calls. */
  listPageSize?: number;
  /** Always upload in a single PUT, whatever the size (default false). */
  disableMultipart?: boolean;
  /** Multipart part size in bytes (default 64 MiB; S3 requires at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded concurrently within one multipart upload (default 4, as Thanos). */
  partConcurrency?: number;
  /** Send a Content-MD5 header with each upload so the server checks integrity (default true). */
  sendContentMd5?: boolean;
  /** Metadata headers added to every upload; `X-Amz-Storage-Class` sets the storage class. */
  putUserMetadata?: Record<string, string>;
  sse?: S3ServerSideEncryption;
  http?: S3HttpOptions;
  /** Retries of each multipart part (other calls are retried by `withRetries`). */
  partRetry?: RetryPolicy;
  /** Log every request to stderr (Thanos's `trace.enable`). */
  trace?: boolean;
  /** Config key names used in error messages (default: the S3 keys). */
  configKeys?: S3ConfigKeyNames;
}

/** Thanos's default part size: 64 MiB. */
export const DEFAULT_S3_PART_SIZE = 64 * 1024 * 1024;
/** The smallest part S3 accepts (all parts but the last must be at least this big). */
export const MIN_S3_PART_SIZE = 5 * 1024 * 1024;
