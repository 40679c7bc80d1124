import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ContainerClient,
  newPipeline,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { bodyChunks, concatBytes, fixedSizeParts } from '../../body.js';
import type { Bucket, IterOptions, OperationOptions, UploadBody } from '../../bucket.js';
import { ObjstoreConfigError, ObjstoreInvalidArgumentError } from '../../errors.js';
import { normalizeIterDir, validateObjectName, validateRange } from '../../names.js';
import { createBucketAgents, DEFAULT_HTTP_OPTIONS } from '../http-agents.js';
import { type AzureErrorContext, azureErrorCode, azureStatus, mapAzureError } from './errors.js';
import {
  type AzureBucketOptions,
  DEFAULT_AZURE_BLOCK_SIZE,
  DEFAULT_AZURE_ENDPOINT,
  MAX_AZURE_BLOCK_SIZE,
  MAX_AZURE_BLOCKS,
} from './options.js';

/** The subset of @azure/identity's exports used for Azure AD credentials (an optional package). */
interface AzureIdentityModule {
  ClientSecretCredential: new (tenantId: string, clientId: string, secret: string) => unknown;
  ManagedIdentityCredential: new (opts: { clientId: string }) => unknown;
  DefaultAzureCredential: new () => unknown;
}

/**
 * Loads @azure/identity only when an Azure AD credential is configured. It is not a dependency
 * of this package (it pulls in MSAL); installing it next to thanos-ts enables managed identity.
 * The specifier is a variable so bundlers leave the import to run time.
 */
async function loadAzureIdentity(setting: string): Promise<AzureIdentityModule> {
  const specifier = '@azure/identity';
  try {
    return (await import(specifier)) as AzureIdentityModule;
  } catch (err) {
    throw new ObjstoreConfigError(
      `${setting} in AZURE config needs the optional package @azure/identity (npm install @azure/identity), or use storage_account_key or storage_connection_string`,
      { cause: err },
    );
  }
}

/** The container URL and what authenticates requests to it; resolved once, on first use. */
async function containerClientFor(opts: AzureBucketOptions, pipelineOptions: StoragePipelineOptions) {
  if (opts.storageConnectionString) {
    try {
      return new ContainerClient(opts.storageConnectionString, opts.container, pipelineOptions);
    } catch (err) {
      throw new ObjstoreConfigError(
        `invalid value for "storage_connection_string" in AZURE config: ${(err as Error).message.split('\n')[0]}`,
        { cause: err },
      );
    }
  }
  const url = `https://${opts.storageAccount}.${opts.endpoint || DEFAULT_AZURE_ENDPOINT}/${encodeURIComponent(opts.container)}`;
  if (opts.storageAccountKey) {
    let credential: StorageSharedKeyCredential;
    try {
      credential = new StorageSharedKeyCredential(opts.storageAccount, opts.storageAccountKey);
    } catch (err) {
      throw new ObjstoreConfigError(
        `invalid value for "storage_account_key" in AZURE config: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new ContainerClient(url, newPipeline(credential, pipelineOptions));
  }
  // Azure AD, in Thanos's order (providers/azure getTokenCredential).
  const setting =
    opts.clientSecret && opts.tenantId && opts.clientId
      ? 'az_tenant_id/client_id/client_secret'
      : opts.userAssignedId
        ? 'user_assigned_id'
        : 'managed identity (no storage_account_key or storage_connection_string)';
  const identity = await loadAzureIdentity(setting);
  const credential =
    opts.clientSecret && opts.tenantId && opts.clientId
      ? new identity.ClientSecretCredential(opts.tenantId, opts.clientId, opts.clientSecret)
      : opts.userAssignedId
        ? new identity.ManagedIdentityCredential({ clientId: opts.userAssignedId })
        : new identity.DefaultAzureCredential();
  return new ContainerClient(url, newPipeline(credential as never, pipelineOptions));
}

/** Base64 block IDs of one upload: a random prefix and the block number, all the same length (Azure requires it). */
function blockIdMaker(): (n: number) => string {
  const prefix = randomBytes(12).toString('hex');
  return (n) => Buffer.from(`${prefix}-${String(n).padStart(6, '0')}`).toString('base64');
}

/**
 * A bucket on Azure Blob Storage (Thanos's `type: AZURE`) through @azure/storage-blob, with
 * Thanos's semantics and request pattern:
 *
 * - an upload shorter than one block (3 MiB) is one Put Blob; anything longer is staged as 3 MiB
 *   blocks, 4 at a time (memory stays near 5 blocks), then committed with one Put Block List, so
 *   the blob only appears whole — the same requests Thanos's `UploadStream` makes;
 * - ranged reads are ranged Get Blob calls; a broken download stream resumes where it broke up to
 *   `readerMaxRetries` times; an offset at or past the end yields an empty array;
 * - listings use the `/` delimiter (Thanos's hierarchy listing) or a flat listing when recursive;
 * - the container is created on first use when missing (Thanos's `storage_create_container`).
 *
 * Creating the bucket does no I/O. The SDK's own retries are off: `withRetries` retries.
 */
export function createAzureBucket(opts: AzureBucketOptions): Bucket {
  if (!opts.container) throw new ObjstoreInvalidArgumentError('azure bucket: container name is empty');
  if (!opts.storageAccount && !opts.storageConnectionString)
    throw new ObjstoreInvalidArgumentError('azure bucket: storage account is empty');
  const blockSize = opts.blockSize ?? DEFAULT_AZURE_BLOCK_SIZE;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > MAX_AZURE_BLOCK_SIZE)
    throw new ObjstoreInvalidArgumentError(
      `azure bucket: block size ${blockSize} is outside 1..${MAX_AZURE_BLOCK_SIZE}`,
    );
  const concurrency = Math.max(1, opts.uploadConcurrency ?? 4);
  const http = opts.http ?? {};
  const agents = createBucketAgents(http);
  const connectionBlobEndpoint = /(?:^|;)\s*BlobEndpoint=([^;]+)/i.exec(opts.storageConnectionString ?? '')?.[1];
  const https = connectionBlobEndpoint
    ? connectionBlobEndpoint.trim().toLowerCase().startsWith('https:')
    : !/DefaultEndpointsProtocol=http(;|$)/i.test(opts.storageConnectionString ?? '');
  const pipelineOptions = {
    retryOptions: {
      // One try per call: retries belong to withRetries, where they are counted and bounded.
      maxTries: 1,
      tryTimeoutInMs: opts.tryTimeoutMs || undefined,
    },
    keepAliveOptions: { enable: true },
    // Passed through newPipeline to core-rest-pipeline's agent policy (Node only): the agent of
    // the URL's scheme carries http_config (TLS roots, client certificate, pooling).
    agent: https ? agents.https : agents.http,
  } as StoragePipelineOptions;
  const ctx: AzureErrorContext = {
    container: opts.container,
    url: connectionBlobEndpoint
      ? `${connectionBlobEndpoint.replace(/\/+$/, '')}/${opts.container}`
      : `https://${opts.storageAccount}.${opts.endpoint || DEFAULT_AZURE_ENDPOINT}/${opts.container}`,
    credentialKey: opts.storageConnectionString
      ? 'storage_connection_string'
      : opts.storageAccountKey
        ? 'storage_account and storage_account_key'
        : 'user_assigned_id',
    addressKey: opts.storageConnectionString ? 'storage_connection_string' : 'storage_account and endpoint',
  };
  const responseTimeoutMs = http.responseHeaderTimeoutMs || DEFAULT_HTTP_OPTIONS.responseHeaderTimeoutMs;

  let clientPromise: Promise<ContainerClient> | undefined;
  const client = (): Promise<ContainerClient> => {
    clientPromise ??= (async () => {
      const c = await containerClientFor(opts, pipelineOptions);
      if (opts.createContainer ?? true) {
        try {
          await c.getProperties({ abortSignal: AbortSignal.timeout(responseTimeoutMs) });
        } catch (err) {
          if (azureErrorCode(err) !== 'ContainerNotFound' && azureStatus(err) !== 404)
            throw mapAzureError(err, 'open container', '', ctx);
          try {
            await c.create({ abortSignal: AbortSignal.timeout(responseTimeoutMs) });
          } catch (createErr) {
            // Another writer may have created it meanwhile.
            if (azureErrorCode(createErr) !== 'ContainerAlreadyExists')
              throw mapAzureError(createErr, 'create container', '', ctx);
          }
        }
      }
      return c;
    })().catch((err) => {
      clientPromise = undefined; // Try again on the next call (the endpoint may come up).
      throw err;
    });
    return clientPromise;
  };

  const call = async <T>(
    operation: string,
    name: string,
    signal: AbortSignal | undefined,
    run: (c: ContainerClient) => Promise<T>,
  ): Promise<T> => {
    signal?.throwIfAborted();
    const c = await client();
    try {
      return await run(c);
    } catch (err) {
      throw mapAzureError(err, operation, name, ctx);
    }
  };

  const download = (operation: string, name: string, offset: number, count: number | undefined, signal?: AbortSignal) =>
    call(operation, name, signal, async (c) => {
      const res = await c
        .getBlobClient(name)
        .download(offset, count, { abortSignal: signal, maxRetryRequests: opts.readerMaxRetries ?? 0 });
      return res.readableStreamBody;
    });

  const readAll = async (operation: string, name: string, stream: NodeJS.ReadableStream | undefined) => {
    if (!stream) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    try {
      for await (const c of stream as AsyncIterable<Uint8Array>) chunks.push(c);
    } catch (err) {
      throw mapAzureError(err, operation, name, ctx);
    }
    return concatBytes(chunks);
  };

  const getProperties = (name: string, signal?: AbortSignal) =>
    call('attributes', name, signal, (c) => c.getBlobClient(name).getProperties({ abortSignal: signal }));

  async function* listPages(prefix: string, recursive: boolean, signal?: AbortSignal): AsyncGenerator<string> {
    signal?.throwIfAborted();
    const c = await client();
    const pages = recursive
      ? c.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: opts.listPageSize })
      : c.listBlobsByHierarchy('/', { prefix, abortSignal: signal }).byPage({ maxPageSize: opts.listPageSize });
    const it = pages[Symbol.asyncIterator]();
    try {
      for (;;) {
        let page: IteratorResult<{
          segment: { blobItems: { name: string }[]; blobPrefixes?: { name: string }[] };
        }>;
        try {
          page = await it.next();
        } catch (err) {
          throw mapAzureError(err, 'iter', prefix, ctx);
        }
        if (page.done) return;
        const names = page.value.segment.blobItems.map((b) => b.name);
        for (const p of page.value.segment.blobPrefixes ?? []) names.push(p.name);
        // The SDK splits a hierarchy page into blobs and prefixes; the service returns them
        // interleaved in name order, so sorting the page restores that order.
        names.sort();
        yield* names;
      }
    } finally {
      await it.return?.();
    }
  }

  const uploadBlocks = async (
    c: ContainerClient,
    name: string,
    first: Uint8Array,
    rest: AsyncIterator<Uint8Array>,
    signal?: AbortSignal,
  ) => {
    const blockBlob = c.getBlockBlobClient(name);
    const idOf = blockIdMaker();
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let next: IteratorResult<Uint8Array> = { done: false, value: first };
    for (let n = 0; !next.done; n++) {
      if (n >= MAX_AZURE_BLOCKS)
        throw new ObjstoreInvalidArgumentError(`upload ${name}: more than ${MAX_AZURE_BLOCKS} blocks`);
      const id = idOf(n);
      ids.push(id);
      const bytes = next.value;
      const p = blockBlob
        .stageBlock(id, bytes, bytes.byteLength, { abortSignal: signal })
        .then(() => undefined)
        .catch((err) => {
          failure ??= err;
        });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      // Bound memory: wait for a free slot before reading the next block from the body.
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (failure) break;
      next = await rest.next();
    }
    await Promise.all(inFlight);
    // Staged but uncommitted blocks are never visible and Azure discards them after a week.
    if (failure) throw failure;
    await blockBlob.commitBlockList(ids, { abortSignal: signal });
  };

  return {
    name: opts.container,
    // TODO(lead): add 'AZURE' and 'ALIYUNOSS' to BucketProvider in src/bucket.ts (#21).
    provider: 'AZURE',
    async get(name: string, o?: OperationOptions) {
      validateObjectName(name);
      return readAll('get', name, await download('get', name, 0, undefined, o?.signal));
    },
    async getStream(name: string, o?: OperationOptions) {
      validateObjectName(name);
      const stream = await download('get', name, 0, undefined, o?.signal);
      return stream ? Readable.from(stream as AsyncIterable<Uint8Array>, { objectMode: false }) : Readable.from([]);
    },
    async getRange(name: string, offset: number, length: number, o?: OperationOptions) {
      validateObjectName(name);
      validateRange(offset, length);
      if (length === 0) {
        await getProperties(name, o?.signal); // Still report a missing object.
        return new Uint8Array(0);
      }
      try {
        const stream = await download('get_range', name, offset, length === -1 ? undefined : length, o?.signal);
        return await readAll('get_range', name, stream);
      } catch (err) {
        // 416: the blob exists but the offset is at or past its end. Match the other backends.
        if ((err as { status?: number }).status === 416) return new Uint8Array(0);
        throw err;
      }
    },
    async upload(name: string, body: UploadBody, o?: OperationOptions) {
      validateObjectName(name);
      const signal = o?.signal;
      signal?.throwIfAborted();
      const blocks = fixedSizeParts(bodyChunks(body, signal), blockSize);
      const first = await blocks.next();
      const firstBytes = first.done ? new Uint8Array(0) : first.value;
      await call('upload', name, signal, async (c) => {
        // Thanos's UploadStream: a body shorter than one block goes in a single Put Blob.
        if (firstBytes.byteLength < blockSize) {
          await c.getBlockBlobClient(name).upload(firstBytes, firstBytes.byteLength, { abortSignal: signal });
          return;
        }
        await uploadBlocks(c, name, firstBytes, blocks, signal);
      });
    },
    async delete(name: string, o?: OperationOptions) {
      validateObjectName(name);
      try {
        await call('delete', name, o?.signal, (c) =>
          c.getBlobClient(name).delete({ deleteSnapshots: 'include', abortSignal: o?.signal }),
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'OBJSTORE_NOT_FOUND') return;
        throw err;
      }
    },
    async exists(name: string, o?: OperationOptions) {
      validateObjectName(name);
      try {
        await getProperties(name, o?.signal);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'OBJSTORE_NOT_FOUND') return false;
        throw err;
      }
    },
    async attributes(name: string, o?: OperationOptions) {
      validateObjectName(name);
      const p = await getProperties(name, o?.signal);
      return { size: p.contentLength ?? 0, lastModified: p.lastModified ?? new Date(0) };
    },
    async *iter(dir: string, o?: IterOptions) {
      const prefix = normalizeIterDir(dir);
      for await (const name of listPages(prefix, o?.recursive ?? false, o?.signal)) {
        // A zero-byte "dir/" marker blob is the directory itself, not an entry.
        if (name !== prefix) yield name;
      }
    },
    async close() {
      agents.destroy();
    },
  };
}
