import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { RetryPolicy } from '../backoff.js';
import type { Bucket } from '../bucket.js';
import { ObjstoreConfigError } from '../errors.js';
import { createFilesystemBucket } from '../providers/filesystem.js';
import { createMemoryBucket } from '../providers/memory.js';
import { createS3Bucket } from '../providers/s3/bucket.js';
import {
  MIN_S3_PART_SIZE,
  type S3BucketLookupType,
  type S3BucketOptions,
  type S3ServerSideEncryption,
} from '../providers/s3/options.js';
import { withMetrics } from '../wrappers/metrics.js';
import { withPrefix } from '../wrappers/prefix.js';
import { withRetries } from '../wrappers/retry.js';
import { type BucketConfig, parseBucketConfig } from './bucket-config.js';
import type { ConfigValues } from './schema.js';

/** Options of `createBucket` / `createBucketFromConfig`. */
export interface CreateBucketOptions {
  /** When set, the bucket is wrapped with Thanos's objstore metrics on this registry. */
  registry?: Registry;
  /** Metric name prefix (default "thanos_"). */
  metricsPrefix?: string;
  /**
   * Retry policy for transient errors, or false for none. Default: 4 attempts with 100 ms..5 s
   * backoff; for S3 a `max_retries` in the config sets the number of attempts.
   */
  retry?: RetryPolicy | false;
}

/**
 * Reads the objstore config the way Thanos's `--objstore.config-file` / `--objstore.config`
 * flags do: exactly one of a file path or inline YAML. Returns the validated config.
 */
export async function loadBucketConfig(source: { configFile?: string; config?: string }): Promise<BucketConfig> {
  const file = source.configFile?.trim();
  const inline = source.config?.trim();
  if (file && inline)
    throw new ObjstoreConfigError('both --objstore.config-file and --objstore.config are set; use one');
  if (!file && !inline)
    throw new ObjstoreConfigError('no bucket configured; set --objstore.config-file or --objstore.config');
  if (inline) return parseBucketConfig(inline);
  let text: string;
  try {
    text = await readFile(file as string, 'utf8');
  } catch (err) {
    throw new ObjstoreConfigError(
      `cannot read --objstore.config-file ${JSON.stringify(file)}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return parseBucketConfig(text);
  } catch (err) {
    if (err instanceof ObjstoreConfigError) {
      throw new ObjstoreConfigError(`${err.message.replace(/^objstore config: /, '')} (in ${file})`, { cause: err });
    }
    throw err;
  }
}

/** Parses Thanos's objstore YAML and creates the bucket it describes (see `createBucket`). */
export async function createBucketFromConfig(yamlText: string, opts: CreateBucketOptions = {}): Promise<Bucket> {
  return createBucket(parseBucketConfig(yamlText), opts);
}

/**
 * Creates the bucket a validated config describes, wrapped as Thanos wraps it: the backend,
 * then the `prefix`, then retries, then metrics (so metrics count one operation per call, however
 * many retries it took). Settings that are inconsistent or that thanos-ts cannot honour are
 * `ObjstoreConfigError`s naming the key. Nothing is read from or written to the bucket here.
 */
export async function createBucket(cfg: BucketConfig, opts: CreateBucketOptions = {}): Promise<Bucket> {
  let bucket: Bucket;
  let attempts: number | undefined;
  switch (cfg.type) {
    case 'FILESYSTEM': {
      const directory = cfg.config.directory;
      if (typeof directory !== 'string' || directory === '')
        throw new ObjstoreConfigError('missing "directory" in FILESYSTEM config');
      bucket = createFilesystemBucket({ directory });
      break;
    }
    case 'IN-MEMORY':
      bucket = createMemoryBucket();
      break;
    case 'S3': {
      const s3 = await s3OptionsFromConfig(cfg.config);
      attempts =
        typeof cfg.config.max_retries === 'number' && cfg.config.max_retries > 0 ? cfg.config.max_retries : undefined;
      bucket = createS3Bucket({
        ...s3,
        partRetry: opts.retry === false ? { maxAttempts: 1 } : { maxAttempts: attempts, ...(opts.retry ?? {}) },
      });
      break;
    }
  }
  bucket = withPrefix(bucket, cfg.prefix);
  if (opts.retry !== false) bucket = withRetries(bucket, { maxAttempts: attempts, ...(opts.retry ?? {}) });
  if (opts.registry) bucket = withMetrics(bucket, { registry: opts.registry, prefix: opts.metricsPrefix });
  return bucket;
}

const str = (c: ConfigValues, k: string): string => (typeof c[k] === 'string' ? (c[k] as string) : '');
const bool = (c: ConfigValues, k: string): boolean => c[k] === true;
const num = (c: ConfigValues, k: string): number | undefined =>
  typeof c[k] === 'number' ? (c[k] as number) : undefined;
const obj = (c: ConfigValues, k: string): ConfigValues =>
  typeof c[k] === 'object' && c[k] !== null ? (c[k] as ConfigValues) : {};

async function readSettingFile(path: string, setting: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ObjstoreConfigError(
      `cannot read ${setting} ${JSON.stringify(path)} in S3 config: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Maps Thanos's S3 keys onto `S3BucketOptions`, with Thanos's validation messages. */
async function s3OptionsFromConfig(c: ConfigValues): Promise<S3BucketOptions> {
  const endpoint = str(c, 'endpoint');
  if (endpoint === '') throw new ObjstoreConfigError('missing "endpoint" in S3 config (host[:port] of the S3 API)');
  if (/^[a-z]+:\/\//i.test(endpoint) || endpoint.includes('/')) {
    throw new ObjstoreConfigError(
      `invalid value for "endpoint" in S3 config: want host[:port] without scheme or path (set insecure: true for http), got ${JSON.stringify(endpoint)}`,
    );
  }
  const bucket = str(c, 'bucket');
  if (bucket === '') throw new ObjstoreConfigError('missing "bucket" in S3 config');
  const accessKey = str(c, 'access_key');
  const secretKey = str(c, 'secret_key');
  if (bool(c, 'aws_sdk_auth') && accessKey !== '')
    throw new ObjstoreConfigError('"aws_sdk_auth" and "access_key" in S3 config are mutually exclusive');
  if (accessKey === '' && secretKey !== '') {
    throw new ObjstoreConfigError(
      '"secret_key" is set but "access_key" is not in S3 config; set both, or neither to use env/files/IAM credentials',
    );
  }
  if (accessKey !== '' && secretKey === '') {
    throw new ObjstoreConfigError(
      '"access_key" is set but "secret_key" is not in S3 config; set both, or neither to use env/files/IAM credentials',
    );
  }
  if (bool(c, 'signature_version2'))
    throw new ObjstoreConfigError(
      '"signature_version2: true" in S3 config is not supported by thanos-ts (AWS SDK v3 signs with v4 only)',
    );
  if (str(c, 'sts_endpoint') !== '') {
    throw new ObjstoreConfigError(
      '"sts_endpoint" in S3 config is not supported by thanos-ts; use the AWS_ENDPOINT_URL_STS environment variable of the AWS SDK',
    );
  }
  const partSize = num(c, 'part_size');
  if (partSize !== undefined && partSize < MIN_S3_PART_SIZE && !bool(c, 'disable_multipart')) {
    throw new ObjstoreConfigError(
      `invalid value for "part_size" in S3 config: S3 parts must be at least ${MIN_S3_PART_SIZE} bytes (5 MiB), got ${partSize}`,
    );
  }

  let sse: S3ServerSideEncryption | undefined;
  const sseConfig = obj(c, 'sse_config');
  switch (str(sseConfig, 'type')) {
    case 'SSE-S3':
      sse = { type: 'SSE-S3' };
      break;
    case 'SSE-KMS': {
      const kmsKeyId = str(sseConfig, 'kms_key_id');
      if (kmsKeyId === '')
        throw new ObjstoreConfigError('"kms_key_id" must be set in S3 config.sse_config when type is SSE-KMS');
      const ctx = sseConfig.kms_encryption_context;
      sse = {
        type: 'SSE-KMS',
        kmsKeyId,
        kmsEncryptionContext: typeof ctx === 'object' ? (ctx as Record<string, string>) : undefined,
      };
      break;
    }
    case 'SSE-C': {
      const keyFile = str(sseConfig, 'encryption_key');
      if (keyFile === '')
        throw new ObjstoreConfigError('"encryption_key" must be set in S3 config.sse_config when type is SSE-C');
      const key = await readSettingFile(keyFile, 'sse_config.encryption_key');
      if (key.byteLength !== 32)
        throw new ObjstoreConfigError(
          `sse_config.encryption_key file ${JSON.stringify(keyFile)} must hold exactly 32 bytes, has ${key.byteLength}`,
        );
      sse = { type: 'SSE-C', encryptionKey: key };
      break;
    }
  }

  const http = obj(c, 'http_config');
  const tls = obj(http, 'tls_config');
  return {
    bucket,
    endpoint,
    region: str(c, 'region') || undefined,
    accessKey: accessKey || undefined,
    secretKey: secretKey || undefined,
    sessionToken: str(c, 'session_token') || undefined,
    insecure: bool(c, 'insecure'),
    bucketLookupType: (str(c, 'bucket_lookup_type') || 'auto') as S3BucketLookupType,
    listObjectsV1: str(c, 'list_objects_version') === 'v1',
    disableMultipart: bool(c, 'disable_multipart'),
    partSize,
    sendContentMd5: c.send_content_md5 === undefined ? true : bool(c, 'send_content_md5'),
    putUserMetadata: (c.put_user_metadata as Record<string, string> | undefined) ?? {},
    sse,
    trace: bool(obj(c, 'trace'), 'enable'),
    http: {
      idleConnTimeoutMs: num(http, 'idle_conn_timeout') || undefined,
      responseHeaderTimeoutMs: num(http, 'response_header_timeout') || undefined,
      tlsHandshakeTimeoutMs: num(http, 'tls_handshake_timeout') || undefined,
      maxConnsPerHost: num(http, 'max_conns_per_host'),
      maxIdleConns: num(http, 'max_idle_conns'),
      insecureSkipVerify: bool(http, 'insecure_skip_verify') || bool(tls, 'insecure_skip_verify'),
      tls: {
        ca: str(tls, 'ca_file')
          ? await readSettingFile(str(tls, 'ca_file'), 'http_config.tls_config.ca_file')
          : undefined,
        cert: str(tls, 'cert_file')
          ? await readSettingFile(str(tls, 'cert_file'), 'http_config.tls_config.cert_file')
          : undefined,
        key: str(tls, 'key_file')
          ? await readSettingFile(str(tls, 'key_file'), 'http_config.tls_config.key_file')
          : undefined,
        serverName: str(tls, 'server_name') || undefined,
      },
    },
  };
}
