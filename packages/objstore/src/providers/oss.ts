import type { Bucket } from '../bucket.js';
import { ObjstoreConfigError } from '../errors.js';
import { createS3Bucket } from './s3/bucket.js';
import type { S3BucketOptions } from './s3/options.js';

/** Thanos's ALIYUNOSS config (objstore providers/oss `Config`). */
export interface OssConfig {
  /** OSS endpoint, e.g. `oss-cn-hangzhou.aliyuncs.com` or `https://oss-cn-hangzhou-internal.aliyuncs.com`. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** OSS's multipart part size in Thanos's client (objstore providers/oss `PartSize`): 128 MiB. */
export const OSS_PART_SIZE = 128 * 1024 * 1024;

/** `oss-<region>[-internal].aliyuncs.com`: OSS's regional endpoints (public and VPC). */
const OSS_REGIONAL_HOST = /^(?:s3\.)?oss-([a-z0-9-]+?)(-internal)?\.aliyuncs\.com$/;

/**
 * Maps Thanos's ALIYUNOSS keys onto the S3 client speaking OSS's S3-compatible API, so an
 * existing Thanos OSS config works unchanged:
 *
 * - the endpoint may carry a scheme (`http://`, `https://`) as the Aliyun SDK allows; without one
 *   https is used (the Go SDK would default to http; thanos-ts never sends credentials in the
 *   clear unless asked to with `http://`);
 * - a regional endpoint `oss-<region>[-internal].aliyuncs.com` becomes OSS's S3-compatible host
 *   `s3.oss-<region>[-internal].aliyuncs.com`, and the signing region is `<region>` (OSS's
 *   "use AWS SDKs to access OSS" guide); other hosts (custom domains, test servers) are kept;
 * - buckets are always addressed virtual-hosted style (`bucket.host`), the only style OSS
 *   accepts; an IP-address endpoint (tests) is addressed by path because an IP has no subdomains;
 * - uploads use 128 MiB parts as Thanos's OSS client does, from any body type.
 *
 * Throws `ObjstoreConfigError` with Thanos's messages when a required key is missing.
 */
export function ossS3Options(cfg: OssConfig): S3BucketOptions {
  if (cfg.endpoint === '' || cfg.bucket === '')
    throw new ObjstoreConfigError('aliyun oss endpoint or bucket is not present in config file');
  if (cfg.accessKeyId === '' || cfg.accessKeySecret === '')
    throw new ObjstoreConfigError('aliyun oss access_key_id or access_key_secret is not present in config file');
  let insecure = false;
  let hostPort = cfg.endpoint.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(hostPort);
  if (scheme) {
    const s = (scheme[1] as string).toLowerCase();
    if (s !== 'http' && s !== 'https')
      throw new ObjstoreConfigError(
        `invalid value for "endpoint" in ALIYUNOSS config: scheme must be http or https, got ${JSON.stringify(cfg.endpoint)}`,
      );
    insecure = s === 'http';
    hostPort = hostPort.slice(scheme[0].length);
  }
  hostPort = hostPort.replace(/\/+$/, '');
  if (hostPort === '' || hostPort.includes('/'))
    throw new ObjstoreConfigError(
      `invalid value for "endpoint" in ALIYUNOSS config: want [scheme://]host[:port] without a path, got ${JSON.stringify(cfg.endpoint)}`,
    );
  const colon = hostPort.lastIndexOf(':');
  const host = colon > 0 && /^\d+$/.test(hostPort.slice(colon + 1)) ? hostPort.slice(0, colon) : hostPort;
  const port = host === hostPort ? '' : hostPort.slice(host.length);
  const regional = OSS_REGIONAL_HOST.exec(host.toLowerCase());
  const s3Host = regional ? `s3.oss-${regional[1]}${regional[2] ?? ''}.aliyuncs.com` : host;
  return {
    bucket: cfg.bucket,
    endpoint: `${s3Host}${port}`,
    region: regional ? regional[1] : undefined,
    accessKey: cfg.accessKeyId,
    secretKey: cfg.accessKeySecret,
    insecure,
    bucketLookupType: 'virtual-hosted',
    partSize: OSS_PART_SIZE,
    configKeys: {
      bucket: 'bucket',
      endpoint: 'endpoint',
      accessKey: 'access_key_id',
      secretKey: 'access_key_secret',
      insecure: 'endpoint',
    },
  };
}

/** A bucket on Alibaba Cloud OSS (Thanos's `type: ALIYUNOSS`) through its S3-compatible API. */
export function createOssBucket(cfg: OssConfig, extra: Partial<S3BucketOptions> = {}): Bucket {
  const bucket = createS3Bucket({ ...ossS3Options(cfg), ...extra });
  // Report Thanos's provider name (metrics' `bucket` labels and logs); the methods are closures.
  return { ...bucket, provider: 'ALIYUNOSS' };
}
