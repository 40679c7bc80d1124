import { parseDocument } from 'yaml';
import { ObjstoreConfigError } from '../errors.js';
import type { ConfigValues, FieldSpec } from './schema.js';
import { validateFields } from './schema.js';

/** Bucket types thanos-ts can create. IN-MEMORY is a thanos-ts addition (tests, examples). */
export const SUPPORTED_BUCKET_TYPES = ['FILESYSTEM', 'S3', 'AZURE', 'ALIYUNOSS', 'IN-MEMORY'] as const;
/** A supported `type:` value (upper case). */
export type BucketType = (typeof SUPPORTED_BUCKET_TYPES)[number];

/** Types Thanos knows but thanos-ts cannot talk to natively, with a hint for each. */
const THANOS_ONLY_TYPES: Record<string, string> = {
  GCS: 'use type: S3 with endpoint storage.googleapis.com and HMAC keys (GCS interoperability)',
  SWIFT: 'not supported',
  COS: 'use type: S3 with the COS S3-compatible endpoint',
  BOS: 'not supported',
  OCI: 'use type: S3 with the OCI Object Storage S3-compatible endpoint',
  OBS: 'use type: S3 with the OBS S3-compatible endpoint',
};

const TLS_FIELDS: Record<string, FieldSpec> = {
  ca_file: { kind: 'string' },
  cert_file: { kind: 'string' },
  key_file: { kind: 'string' },
  server_name: { kind: 'string' },
  insecure_skip_verify: { kind: 'bool' },
};

/** Thanos's `http_config` keys (objstore `exthttp.HTTPConfig`), shared by S3 and AZURE. */
export const HTTP_CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = {
  idle_conn_timeout: { kind: 'duration' },
  response_header_timeout: { kind: 'duration' },
  insecure_skip_verify: { kind: 'bool' },
  tls_handshake_timeout: { kind: 'duration' },
  expect_continue_timeout: { kind: 'duration' },
  max_idle_conns: { kind: 'int' },
  max_idle_conns_per_host: { kind: 'int' },
  max_conns_per_host: { kind: 'int' },
  tls_config: { kind: 'object', fields: TLS_FIELDS },
  disable_compression: { kind: 'bool' },
};

/** Thanos's S3 config keys (objstore providers/s3 `Config`), all accepted. */
export const S3_CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = {
  bucket: { kind: 'string' },
  endpoint: { kind: 'string' },
  region: { kind: 'string' },
  disable_dualstack: { kind: 'bool' },
  aws_sdk_auth: { kind: 'bool' },
  access_key: { kind: 'string' },
  insecure: { kind: 'bool' },
  signature_version2: { kind: 'bool' },
  secret_key: { kind: 'string' },
  session_token: { kind: 'string' },
  put_user_metadata: { kind: 'stringMap' },
  http_config: { kind: 'object', fields: HTTP_CONFIG_FIELDS },
  trace: { kind: 'object', fields: { enable: { kind: 'bool' } } },
  list_objects_version: { kind: 'enum', values: ['', 'v1', 'v2'] },
  bucket_lookup_type: { kind: 'enum', values: ['auto', 'virtual-hosted', 'path'] },
  send_content_md5: { kind: 'bool' },
  disable_multipart: { kind: 'bool' },
  part_size: { kind: 'int' },
  sse_config: {
    kind: 'object',
    fields: {
      type: { kind: 'enum', values: ['', 'SSE-S3', 'SSE-KMS', 'SSE-C'] },
      kms_key_id: { kind: 'string' },
      kms_encryption_context: { kind: 'stringMap' },
      encryption_key: { kind: 'string' },
    },
  },
  sts_endpoint: { kind: 'string' },
  max_retries: { kind: 'int' },
};

/** Thanos's AZURE config keys (objstore providers/azure `Config`), all accepted. */
export const AZURE_CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = {
  az_tenant_id: { kind: 'string' },
  client_id: { kind: 'string' },
  client_secret: { kind: 'string' },
  storage_account: { kind: 'string' },
  storage_account_key: { kind: 'string' },
  storage_connection_string: { kind: 'string' },
  storage_create_container: { kind: 'bool' },
  container: { kind: 'string' },
  endpoint: { kind: 'string' },
  user_assigned_id: { kind: 'string' },
  max_retries: { kind: 'signedInt' },
  reader_config: { kind: 'object', fields: { max_retry_requests: { kind: 'signedInt' } } },
  pipeline_config: {
    kind: 'object',
    fields: {
      max_tries: { kind: 'signedInt' },
      try_timeout: { kind: 'duration' },
      retry_delay: { kind: 'duration' },
      max_retry_delay: { kind: 'duration' },
    },
  },
  http_config: { kind: 'object', fields: HTTP_CONFIG_FIELDS },
  // Deprecated in Thanos (the SDK finds the resource itself); accepted and ignored.
  msi_resource: { kind: 'string' },
};

/** Thanos's ALIYUNOSS config keys (objstore providers/oss `Config`). */
export const ALIYUNOSS_CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = {
  endpoint: { kind: 'string' },
  bucket: { kind: 'string' },
  access_key_id: { kind: 'string' },
  access_key_secret: { kind: 'string' },
};

/** Thanos's FILESYSTEM config keys. */
export const FILESYSTEM_CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = { directory: { kind: 'string' } };

const FIELDS_BY_TYPE: Record<BucketType, Readonly<Record<string, FieldSpec>>> = {
  FILESYSTEM: FILESYSTEM_CONFIG_FIELDS,
  S3: S3_CONFIG_FIELDS,
  AZURE: AZURE_CONFIG_FIELDS,
  ALIYUNOSS: ALIYUNOSS_CONFIG_FIELDS,
  'IN-MEMORY': {},
};

/** A parsed and validated objstore config (Thanos's `BucketConfig`). */
export interface BucketConfig {
  type: BucketType;
  /** The `config:` section, validated against the type's keys (durations in ms). */
  config: ConfigValues;
  /** Objects live under this prefix (`prefix:`), "" for none. */
  prefix: string;
}

/**
 * Parses Thanos's objstore YAML (`type`, `config`, `prefix`) and validates it strictly, like
 * Thanos's `yaml.UnmarshalStrict`: bad YAML, unknown keys, wrong value types and unsupported
 * types are `ObjstoreConfigError`s whose one-line message names the setting. The `type` is
 * case-insensitive, as in Thanos. Does not touch the network or the disk.
 */
export function parseBucketConfig(yamlText: string): BucketConfig {
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError) {
    const offset = firstError.pos[0];
    const line = yamlText.slice(0, offset).split('\n').length;
    throw new ObjstoreConfigError(
      `invalid YAML${line !== undefined ? ` at line ${line}` : ''}: ${firstError.message.split('\n')[0]}`,
    );
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined)
    throw new ObjstoreConfigError('empty config; want a mapping with "type" and "config"');
  if (typeof root !== 'object' || Array.isArray(root))
    throw new ObjstoreConfigError('want a mapping with "type" and "config" at the top level');
  const { config: rawConfig, ...rest } = root as Record<string, unknown>;
  // `config` is validated below against the chosen type's keys.
  const top = validateFields(
    rest,
    { type: { kind: 'string' }, config: { kind: 'object', fields: {} }, prefix: { kind: 'string' } },
    'the top level',
  );
  const rawType = typeof top.type === 'string' ? top.type.trim().toUpperCase() : '';
  if (rawType === '') throw new ObjstoreConfigError(`missing "type" (one of ${SUPPORTED_BUCKET_TYPES.join(', ')})`);
  if (!(SUPPORTED_BUCKET_TYPES as readonly string[]).includes(rawType)) {
    const hint = THANOS_ONLY_TYPES[rawType];
    throw new ObjstoreConfigError(
      `bucket type ${JSON.stringify(top.type)} is not supported by thanos-ts (supported: ${SUPPORTED_BUCKET_TYPES.join(', ')})${hint ? `; ${hint}` : ''}`,
    );
  }
  const type = rawType as BucketType;
  const config = validateFields(rawConfig, FIELDS_BY_TYPE[type], `${type} config`);
  return { type, config, prefix: typeof top.prefix === 'string' ? top.prefix : '' };
}
