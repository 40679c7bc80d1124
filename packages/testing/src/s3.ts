import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { httpOk } from './net.js';
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

/**
 * Starts the `s3rver` S3 server (from npm) as a child process on 127.0.0.1, with `bucket` created.
 * Pass `dir` and `port` to restart it over the same data (fault tests).
 */
export function startS3rver(opts: { bucket?: string; dir?: string; port?: number } = {}): Promise<RunningS3> {
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
      '--configure-bucket',
      bucket,
    ],
    // s3rver answers ListBuckets at / once it is up.
    ready: (port) => httpOk(`http://127.0.0.1:${port}/`),
  }).then((service) => ({
    ...service,
    endpoint: `http://127.0.0.1:${service.port}`,
    bucket,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
  }));
}
