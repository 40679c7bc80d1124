import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { RetryPolicy } from '../backoff.js';
import type { Bucket } from '../bucket.js';
import { ObjstoreConfigError } from '../errors.js';
import { createAzureBucket } from '../providers/azure/bucket.js';
import type { AzureBucketOptions } from '../providers/azure/options.js';
import { createFilesystemBucket } from '../providers/filesystem.js';
import type { BucketHttpOptions } from '../providers/http-agents.js';
import { createMemoryBucket } from '../providers/memory.js';
import { createOssBucket } from '../providers/oss.js';
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
  let backoff: RetryPolicy = {};
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
    case 'AZURE': {
      // Thanos: max_retries feeds pipeline_config.max_tries when that is 0; azcore's MaxRetries
      // counts retries (default 3), so attempts are one more.
      const pipeline = obj(cfg.config, 'pipeline_config');
      const maxRetries = num(cfg.config, 'max_retries') ?? 0;
      attempts = (num(pipeline, 'max_tries') || (maxRetries > 0 ? maxRetries : 3)) + 1;
      backoff = {
        minBackoffMs: num(pipeline, 'retry_delay') || undefined,
        maxBackoffMs: num(pipeline, 'max_retry_delay') || undefined,
      };
      bucket = createAzureBucket(await azureOptionsFromConfig(cfg.config));
      break;
    }
    case 'ALIYUNOSS':
      bucket = createOssBucket(
        {
          endpoint: str(cfg.config, 'endpoint'),
          bucket: str(cfg.config, 'bucket'),
          accessKeyId: str(cfg.config, 'access_key_id'),
          accessKeySecret: str(cfg.config, 'access_key_secret'),
        },
        { partRetry: opts.retry === false ? { maxAttempts: 1 } : { ...(opts.retry ?? {}) } },
      );
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
  if (opts.retry !== false) bucket = withRetries(bucket, { maxAttempts: attempts, ...backoff, ...(opts.retry ?? {}) });
  if (opts.registry) bucket = withMetrics(bucket, { registry: opts.registry, prefix: opts.metricsPrefix });
  return bucket;
}

const str = (c: ConfigValues, k: string): string => (typeof c[k] === 'string' ? (c[k] as string) : '');
const bool = (c: ConfigValues, k: string): boolean => c[k] === true;
const num = (c: ConfigValues, k: string): number | undefined =>
  typeof c[k] === 'number' ? (c[k] as number) : undefined;
const obj = (c: ConfigValues, k: string): ConfigValues =>
  typeof c[k] === 'object' && c[k] !== null ? (c[k] as ConfigValues) : {};

async function readSettingFile(path: string, setting: string, where = 'S3'): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ObjstoreConfigError(
      `cannot read ${setting} ${JSON.stringify(path)} in ${where} config: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Maps Thanos's `http_config` onto agent options, with exthttp's checks and messages: a CA file
 * with no PEM certificate, or a client certificate without its key (or the reverse), is refused
 * before any connection is made.
 */
async function httpOptionsFromConfig(http: ConfigValues, where: string): Promise<BucketHttpOptions> {
  const tls = obj(http, 'tls_config');
  const caFile = str(tls, 'ca_file');
  const certFile = str(tls, 'cert_file');
  const keyFile = str(tls, 'key_file');
  let ca: Uint8Array | undefined;
  if (caFile !== '') {
    ca = await readSettingFile(caFile, 'http_config.tls_config.ca_file', where);
    if (!Buffer.from(ca).toString('latin1').includes('-----BEGIN CERTIFICATE-----'))
      throw new ObjstoreConfigError(
        `unable to use specified CA cert ${caFile} (http_config.tls_config.ca_file in ${where} config holds no PEM certificate)`,
      );
  }
  if (certFile !== '' && keyFile === '')
    throw new ObjstoreConfigError(
      `client cert file ${JSON.stringify(certFile)} specified without client key file (http_config.tls_config in ${where} config)`,
    );
  if (keyFile !== '' && certFile === '')
    throw new ObjstoreConfigError(
      `client key file ${JSON.stringify(keyFile)} specified without client cert file (http_config.tls_config in ${where} config)`,
    );
  return {
    idleConnTimeoutMs: num(http, 'idle_conn_timeout') || undefined,
    responseHeaderTimeoutMs: num(http, 'response_header_timeout') || undefined,
    tlsHandshakeTimeoutMs: num(http, 'tls_handshake_timeout') || undefined,
    maxConnsPerHost: num(http, 'max_conns_per_host'),
    maxIdleConns: num(http, 'max_idle_conns') || undefined,
    maxIdleConnsPerHost: num(http, 'max_idle_conns_per_host') || undefined,
    insecureSkipVerify: bool(http, 'insecure_skip_verify') || bool(tls, 'insecure_skip_verify'),
    tls: {
      ca,
      cert: certFile ? await readSettingFile(certFile, 'http_config.tls_config.cert_file', where) : undefined,
      key: keyFile ? await readSettingFile(keyFile, 'http_config.tls_config.key_file', where) : undefined,
      serverName: str(tls, 'server_name') || undefined,
    },
  };
}

/**
 * Maps Thanos's AZURE keys onto `AzureBucketOptions`, with Thanos's validation (providers/azure
 * `Config.validate`): every problem found, joined with ", ", in one line.
 */
async function azureOptionsFromConfig(c: ConfigValues): Promise<AzureBucketOptions> {
  const problems: string[] = [];
  const userAssignedId = str(c, 'user_assigned_id');
  const accountKey = str(c, 'storage_account_key');
  const connectionString = str(c, 'storage_connection_string');
  const tenant = str(c, 'az_tenant_id');
  const clientId = str(c, 'client_id');
  const clientSecret = str(c, 'client_secret');
  if (userAssignedId !== '' && accountKey !== '')
    problems.push('user_assigned_id cannot be set when using storage_account_key authentication');
  if (userAssignedId !== '' && connectionString !== '')
    problems.push('user_assigned_id cannot be set when using storage_connection_string authentication');
  if (userAssignedId !== '' && clientId !== '')
    problems.push('user_assigned_id cannot be set when using client_id authentication');
  if (
    (tenant !== '' || clientSecret !== '' || clientId !== '') &&
    (tenant === '' || clientSecret === '' || clientId === '')
  )
    problems.push('az_tenant_id, client_id, and client_secret must be set together');
  if (accountKey !== '' && connectionString !== '')
    problems.push('storage_account_key and storage_connection_string cannot both be set');
  if (str(c, 'storage_account') === '') problems.push('storage_account_name is required but not configured');
  if (str(c, 'container') === '') problems.push('no container specified');
  const pipeline = obj(c, 'pipeline_config');
  const reader = obj(c, 'reader_config');
  if ((num(pipeline, 'max_tries') ?? 0) < 0)
    problems.push('The value of max_tries must be greater than or equal to 0 in the config file');
  if ((num(reader, 'max_retry_requests') ?? 0) < 0)
    problems.push('The value of max_retry_requests must be greater than or equal to 0 in the config file');
  if (problems.length > 0) throw new ObjstoreConfigError(`AZURE config: ${problems.join(', ')}`);
  const endpoint = str(c, 'endpoint');
  if (/^[a-z]+:\/\//i.test(endpoint) || endpoint.includes('/'))
    throw new ObjstoreConfigError(
      `invalid value for "endpoint" in AZURE config: want the blob service domain such as blob.core.windows.net (the URL is https://<storage_account>.<endpoint>/<container>); for Azurite or a custom URL use storage_connection_string, got ${JSON.stringify(endpoint)}`,
    );
  const maxRetries = num(c, 'max_retries') ?? 0;
  return {
    storageAccount: str(c, 'storage_account'),
    container: str(c, 'container'),
    storageAccountKey: accountKey || undefined,
    storageConnectionString: connectionString || undefined,
    endpoint: endpoint || undefined,
    createContainer: c.storage_create_container === undefined ? true : bool(c, 'storage_create_container'),
    userAssignedId: userAssignedId || undefined,
    tenantId: tenant || undefined,
    clientId: clientId || undefined,
    clientSecret: clientSecret || undefined,
    tryTimeoutMs: num(pipeline, 'try_timeout') || undefined,
    readerMaxRetries: num(reader, 'max_retry_requests') || Math.max(0, maxRetries),
    http: await httpOptionsFromConfig(obj(c, 'http_config'), 'AZURE'),
  };
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
    http: await httpOptionsFromConfig(obj(c, 'http_config'), 'S3'),
  };
}
