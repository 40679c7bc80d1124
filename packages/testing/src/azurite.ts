import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { canConnect } from './net.js';
import { type RunningService, startService } from './service.js';

/** A running Azurite Blob service (Azure Blob Storage emulator, from npm). */
export interface RunningAzurite extends RunningService {
  /** Blob endpoint including the account, e.g. http://127.0.0.1:PORT/devstoreaccount1 */
  readonly blobEndpoint: string;
  /** Azurite's well-known development account name and key. */
  readonly accountName: string;
  readonly accountKey: string;
  /**
   * A storage connection string for the account (what Thanos's `storage_connection_string` takes),
   * pointing at this Azurite (over plain HTTP unless started with `tls`).
   */
  readonly connectionString: string;
}

/** Azurite's fixed development storage account (documented by Microsoft; not a secret). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const require = createRequire(import.meta.url);

/**
 * Starts Azurite's blob service as a child process on 127.0.0.1 and a free port, keeping its data
 * in a temp dir. Stop it with `stop()` (by PID). Containers are not created: the Azure bucket
 * creates its container, as Thanos does with `storage_create_container`.
 */
export function startAzurite(
  opts: {
    dir?: string;
    port?: number;
    /** Serve HTTPS with this PEM key and certificate (file paths); endpoints then use https://. */
    tls?: { keyFile: string; certFile: string };
  } = {},
): Promise<RunningAzurite> {
  const bin = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  return startService({
    name: 'azurite-blob',
    command: process.execPath,
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    args: (port, dir) => [
      bin,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      join(dir, 'data'),
      '--silent',
      // The SDK may be newer than the emulator; the API surface the bucket uses is old and stable.
      '--skipApiVersionCheck',
      '--loose',
      ...(opts.tls ? ['--cert', opts.tls.certFile, '--key', opts.tls.keyFile] : []),
    ],
    // Every Blob API call needs a signature, so readiness is "accepts TCP connections".
    ready: (port) => canConnect(port),
  }).then((service) => {
    const scheme = opts.tls ? 'https' : 'http';
    const blobEndpoint = `${scheme}://127.0.0.1:${service.port}/${AZURITE_ACCOUNT}`;
    return {
      ...service,
      blobEndpoint,
      accountName: AZURITE_ACCOUNT,
      accountKey: AZURITE_KEY,
      connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    };
  });
}
