import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { canConnect, httpOk } from './net.js';
import { type RunningService, startService } from './service.js';

/** A running S3 HTTP server (s3rver) with one bucket created. */
export interface RunningS3 extends RunningService {
  /** e.g. http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly bucket: string;
  /** Credentials s3rver accepts. */
  readonly accessKey: string;
  readonly secretKey: string;
}

const require = createRequire(import.meta.url);

/** Options of {@link startS3rver}. */
export interface S3rverOptions {
  /** Bucket created at start (default "thanos"). */
  bucket?: string;
  /** Data directory and port, to restart over the same data (fault tests). */
  dir?: string;
  port?: number;
  /**
   * Serve HTTPS instead of HTTP with this PEM key and certificate (file paths). `endpoint` then
   * starts with https://. There is no plain-HTTP listener alongside.
   */
  tls?: { keyFile: string; certFile: string };
  /**
   * The domain under which s3rver accepts virtual-hosted requests, `<bucket>.s3[.-anything].<domain>`
   * (default "amazonaws.com"). Tests of virtual-hosted addressing resolve such names to 127.0.0.1.
   */
  serviceEndpoint?: string;
}

/**
 * Starts the `s3rver` S3 server (from npm) as a child process on 127.0.0.1, with `bucket` created.
 * Pass `dir` and `port` to restart it over the same data (fault tests).
 */
export function startS3rver(opts: S3rverOptions = {}): Promise<RunningS3> {
  const bucket = opts.bucket ?? 'thanos';
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  return startService({
    name: 's3rver',
    command: process.execPath,
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    args: (port, dir) => [
      // s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node 24's OpenSSL only
      // allows through the legacy provider; without it every paginated listing answers 500.
      '--openssl-legacy-provider',
      bin,
      '--directory',
      join(dir, 'data'),
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--silent',
      ...(opts.tls ? ['--key', opts.tls.keyFile, '--cert', opts.tls.certFile] : []),
      ...(opts.serviceEndpoint ? ['--service-endpoint', opts.serviceEndpoint] : []),
      '--configure-bucket',
      bucket,
    ],
    // s3rver answers ListBuckets at / once it is up; over TLS (a test CA the runner does not
    // trust) an accepted connection has to do.
    ready: (port) => (opts.tls ? canConnect(port) : httpOk(`http://127.0.0.1:${port}/`)),
  }).then((service) => ({
    ...service,
    endpoint: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${service.port}`,
    bucket,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
  }));
}
