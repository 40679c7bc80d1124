import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { withBackoff } from '../../backoff.js';
import { bodyChunks, fixedSizeParts } from '../../body.js';
import type { Bucket, IterOptions, OperationOptions, UploadBody } from '../../bucket.js';
import { ObjstoreInvalidArgumentError } from '../../errors.js';
import { normalizeIterDir, validateObjectName, validateRange } from '../../names.js';
import { createBucketAgents, DEFAULT_HTTP_OPTIONS } from '../http-agents.js';
import { mapS3Error, type S3ErrorContext, statusOf } from './errors.js';
import { DEFAULT_S3_PART_SIZE, MIN_S3_PART_SIZE, type S3BucketLookupType, type S3BucketOptions } from './options.js';

/** Endpoints whose buckets are addressed virtual-hosted style under `bucket_lookup_type: auto` (as minio-go). */
const VIRTUAL_HOSTED_ENDPOINTS = /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|aliyuncs\.com|googleapis\.com)(:\d+)?$/;

/** Whether requests put the bucket in the path (`host/bucket/key`) rather than the host name. */
export function usesPathStyle(endpoint: string, lookup: S3BucketLookupType = 'auto'): boolean {
  if (lookup === 'path') return true;
  if (lookup === 'virtual-hosted') return false;
  return !VIRTUAL_HOSTED_ENDPOINTS.test(endpoint);
}

/**
 * A bucket on any S3-compatible service (AWS S3, MinIO, Ceph RGW, GCS interop, Alibaba OSS,
 * s3rver) through @aws-sdk/client-s3, with Thanos's S3 semantics:
 *
 * - objects up to `partSize` go in one PUT; bigger bodies stream as a multipart upload of
 *   `partSize` parts (each retried on transient errors), so memory stays bounded by
 *   `partSize × (partConcurrency + 1)` and the object only appears when the upload completes;
 *   a failed multipart upload is aborted so no half object is ever visible;
 * - listings page through ListObjectsV2 (or v1) continuation tokens;
 * - range reads are HTTP Range GETs; an offset at or past the end yields an empty array.
 *
 * The SDK's own retries are off (one attempt per call): retries are the job of `withRetries`
 * so that they are counted and bounded in one place.
 */
export function createS3Bucket(opts: S3BucketOptions): Bucket {
  if (!opts.bucket) throw new ObjstoreInvalidArgumentError('s3 bucket: bucket name is empty');
  if (!opts.endpoint) throw new ObjstoreInvalidArgumentError('s3 bucket: endpoint is empty');
  const partSize = opts.partSize ?? DEFAULT_S3_PART_SIZE;
  if (!opts.disableMultipart && partSize < MIN_S3_PART_SIZE) {
    throw new ObjstoreInvalidArgumentError(
      `s3 bucket: part_size ${partSize} is below S3's minimum of ${MIN_S3_PART_SIZE} bytes`,
    );
  }
  const partConcurrency = Math.max(1, opts.partConcurrency ?? 4);
  const sendMd5 = opts.sendContentMd5 ?? true;
  const endpointUrl = `${opts.insecure ? 'http' : 'https'}://${opts.endpoint}`;
  const ctx: S3ErrorContext = { bucket: opts.bucket, endpointUrl, keys: opts.configKeys };
  const http = opts.http ?? {};
  // Only the agent of the configured scheme is ever used: an https endpoint that fails TLS is an
  // error, never retried over http.
  const agents = createBucketAgents(http);

  const client = new S3Client({
    endpoint: endpointUrl,
    region: opts.region || 'us-east-1',
    forcePathStyle: usesPathStyle(opts.endpoint, opts.bucketLookupType),
    credentials:
      opts.accessKey !== undefined && opts.accessKey !== ''
        ? {
            accessKeyId: opts.accessKey,
            secretAccessKey: opts.secretKey ?? '',
            sessionToken: opts.sessionToken || undefined,
          }
        : undefined,
    maxAttempts: 1,
    // Only checksum when S3 demands it: S3-compatible servers (s3rver, older Ceph) reject the
    // SDK's newer default of CRC32 trailers. Integrity comes from Content-MD5 instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpAgent: agents.http,
      httpsAgent: agents.https,
      connectionTimeout: http.tlsHandshakeTimeoutMs || DEFAULT_HTTP_OPTIONS.tlsHandshakeTimeoutMs,
      requestTimeout: http.responseHeaderTimeoutMs || DEFAULT_HTTP_OPTIONS.responseHeaderTimeoutMs,
    },
    logger: opts.trace ? console : undefined,
  });

  const userMetadata: Record<string, string> = {};
  let storageClass: string | undefined;
  for (const [k, v] of Object.entries(opts.putUserMetadata ?? {})) {
    if (k.toLowerCase() === 'x-amz-storage-class') storageClass = v;
    else userMetadata[k] = v;
  }

  // Parameters every write carries (encryption, metadata), and what reads of SSE-C objects need.
  const sse = opts.sse;
  const ssecKey = sse?.type === 'SSE-C' ? Buffer.from(sse.encryptionKey).toString('base64') : undefined;
  const ssecKeyMd5 = sse?.type === 'SSE-C' ? createHash('md5').update(sse.encryptionKey).digest('base64') : undefined;
  const readSse = ssecKey
    ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: ssecKey, SSECustomerKeyMD5: ssecKeyMd5 }
    : {};
  const writeParams = {
    ...readSse,
    ...(sse?.type === 'SSE-S3' ? { ServerSideEncryption: 'AES256' as ServerSideEncryption } : {}),
    ...(sse?.type === 'SSE-KMS'
      ? {
          ServerSideEncryption: 'aws:kms' as ServerSideEncryption,
          SSEKMSKeyId: sse.kmsKeyId,
          SSEKMSEncryptionContext: Buffer.from(JSON.stringify(sse.kmsEncryptionContext ?? {})).toString('base64'),
        }
      : {}),
    Metadata: Object.keys(userMetadata).length > 0 ? userMetadata : undefined,
    StorageClass: storageClass as never,
  };
  const md5 = (bytes: Uint8Array) => (sendMd5 ? createHash('md5').update(bytes).digest('base64') : undefined);

  const send = async <T>(operation: string, name: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw mapS3Error(err, operation, name, ctx);
    }
  };

  const head = (name: string, signal?: AbortSignal) =>
    send('attributes', name, () =>
      client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key: name, ...readSse }), { abortSignal: signal }),
    );

  const getBody = async (operation: string, name: string, range: string | undefined, signal?: AbortSignal) => {
    const out = await send(operation, name, () =>
      client.send(new GetObjectCommand({ Bucket: opts.bucket, Key: name, Range: range, ...readSse }), {
        abortSignal: signal,
      }),
    );
    const body = out.Body as (Readable & { transformToByteArray(): Promise<Uint8Array> }) | undefined;
    return { body, status: out.$metadata.httpStatusCode, contentRange: out.ContentRange };
  };

  const readAll = async (operation: string, name: string, range: string | undefined, signal?: AbortSignal) => {
    const { body, status, contentRange } = await getBody(operation, name, range, signal);
    const bytes = body ? await send(operation, name, () => body.transformToByteArray()) : new Uint8Array(0);
    return { bytes, status, contentRange };
  };

  const putObject = (name: string, bytes: Uint8Array, signal?: AbortSignal) =>
    send('upload', name, () =>
      client.send(
        new PutObjectCommand({
          Bucket: opts.bucket,
          Key: name,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentMD5: md5(bytes),
          ...writeParams,
        }),
        { abortSignal: signal },
      ),
    );

  const multipartUpload = async (
    name: string,
    first: Uint8Array,
    rest: AsyncIterator<Uint8Array>,
    signal?: AbortSignal,
  ) => {
    const created = await send('upload', name, () =>
      client.send(new CreateMultipartUploadCommand({ Bucket: opts.bucket, Key: name, ...writeParams }), {
        abortSignal: signal,
      }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw mapS3Error(new Error('CreateMultipartUpload returned no UploadId'), 'upload', name, ctx);
    const etags: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const uploadPart = (partNumber: number, bytes: Uint8Array) =>
      withBackoff(
        () =>
          send('upload', name, () =>
            client.send(
              new UploadPartCommand({
                Bucket: opts.bucket,
                Key: name,
                UploadId: uploadId,
                PartNumber: partNumber,
                Body: bytes,
                ContentLength: bytes.byteLength,
                ContentMD5: md5(bytes),
                ...readSse,
              }),
              { abortSignal: signal },
            ),
          ),
        opts.partRetry,
        signal,
      ).then((out) => {
        etags[partNumber - 1] = out.ETag ?? '';
      });
    try {
      let partNumber = 0;
      let next: IteratorResult<Uint8Array> = { done: false, value: first };
      while (!next.done) {
        partNumber++;
        if (partNumber > 10_000)
          throw new ObjstoreInvalidArgumentError(`upload ${name}: more than 10000 parts; raise part_size`);
        const p = uploadPart(partNumber, next.value).catch((err) => {
          failure ??= err;
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        // Bound memory: wait for a free slot before reading the next part from the body.
        while (inFlight.size >= partConcurrency) await Promise.race(inFlight);
        if (failure) throw failure;
        next = await rest.next();
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      await send('upload', name, () =>
        client.send(
          new CompleteMultipartUploadCommand({
            Bucket: opts.bucket,
            Key: name,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
          { abortSignal: signal },
        ),
      );
    } catch (err) {
      await Promise.allSettled(inFlight);
      // Best effort: S3 keeps the parts of an unfinished upload (billed, never visible as an
      // object) until aborted or expired by a lifecycle rule.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: opts.bucket, Key: name, UploadId: uploadId }), {
          abortSignal: AbortSignal.timeout(10_000),
        })
        .catch(() => {});
      throw err;
    }
  };

  async function* listPage(prefix: string, recursive: boolean, signal?: AbortSignal): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      signal?.throwIfAborted();
      const names: string[] = [];
      if (opts.listObjectsV1) {
        const page = await send('iter', prefix, () =>
          client.send(
            new ListObjectsCommand({
              Bucket: opts.bucket,
              Prefix: prefix,
              Delimiter: recursive ? undefined : '/',
              Marker: token,
              MaxKeys: opts.listPageSize,
            }),
            { abortSignal: signal },
          ),
        );
        for (const c of page.Contents ?? []) if (c.Key) names.push(c.Key);
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.push(p.Prefix);
        names.sort();
        token = page.IsTruncated ? (page.NextMarker ?? names[names.length - 1]) : undefined;
      } else {
        const page = await send('iter', prefix, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: opts.bucket,
              Prefix: prefix,
              Delimiter: recursive ? undefined : '/',
              ContinuationToken: token,
              MaxKeys: opts.listPageSize,
            }),
            { abortSignal: signal },
          ),
        );
        for (const c of page.Contents ?? []) if (c.Key) names.push(c.Key);
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.push(p.Prefix);
        names.sort();
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      }
      yield* names;
    } while (token);
  }

  return {
    name: opts.bucket,
    provider: 'S3',
    async get(name: string, o?: OperationOptions) {
      validateObjectName(name);
      return (await readAll('get', name, undefined, o?.signal)).bytes;
    },
    async getStream(name: string, o?: OperationOptions) {
      validateObjectName(name);
      const { body } = await getBody('get', name, undefined, o?.signal);
      return body ?? Readable.from([]);
    },
    async getRange(name: string, offset: number, length: number, o?: OperationOptions) {
      validateObjectName(name);
      validateRange(offset, length);
      if (length === 0) {
        await head(name, o?.signal); // Still report a missing object.
        return new Uint8Array(0);
      }
      const range =
        length === -1 ? (offset > 0 ? `bytes=${offset}-` : undefined) : `bytes=${offset}-${offset + length - 1}`;
      try {
        const { bytes, status, contentRange } = await readAll('get_range', name, range, o?.signal);
        return clipToRange(bytes, status, contentRange, offset, length);
      } catch (err) {
        // 416: the object exists but the offset is at or past its end. Match the other backends.
        if (statusOf((err as Error).cause) === 416) return new Uint8Array(0);
        throw err;
      }
    },
    async upload(name: string, body: UploadBody, o?: OperationOptions) {
      validateObjectName(name);
      const signal = o?.signal;
      if (opts.disableMultipart) {
        const chunks: Uint8Array[] = [];
        for await (const c of bodyChunks(body, signal)) chunks.push(c);
        await putObject(name, Buffer.concat(chunks), signal);
        return;
      }
      const parts = fixedSizeParts(bodyChunks(body, signal), partSize);
      const first = await parts.next();
      if (first.done) {
        await putObject(name, new Uint8Array(0), signal);
        return;
      }
      const second = await parts.next();
      if (second.done) {
        await putObject(name, first.value, signal);
        return;
      }
      // Put the already-read second part back in front of the rest.
      const rest = (async function* () {
        yield second.value;
        yield* { [Symbol.asyncIterator]: () => parts };
      })();
      await multipartUpload(name, first.value, rest, signal);
    },
    async delete(name: string, o?: OperationOptions) {
      validateObjectName(name);
      await send('delete', name, () =>
        client.send(new DeleteObjectCommand({ Bucket: opts.bucket, Key: name }), { abortSignal: o?.signal }),
      );
    },
    async exists(name: string, o?: OperationOptions) {
      validateObjectName(name);
      try {
        await head(name, o?.signal);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'OBJSTORE_NOT_FOUND') return false;
        throw err;
      }
    },
    async attributes(name: string, o?: OperationOptions) {
      validateObjectName(name);
      const out = await head(name, o?.signal);
      return { size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    },
    async *iter(dir: string, o?: IterOptions) {
      const prefix = normalizeIterDir(dir);
      const recursive = o?.recursive ?? false;
      for await (const name of listPage(prefix, recursive, o?.signal)) {
        // Some tools create a zero-byte "dir/" marker object; it is the directory itself, not an entry.
        if (name !== prefix) yield name;
      }
    },
    async close() {
      client.destroy();
      agents.destroy();
    },
  };
}

/**
 * Returns exactly the requested range from a GET answer. HTTP lets a server ignore `Range`
 * (200 with the whole object) and some S3-compatible servers answer `bytes=0-0` with more than
 * one byte, so the answer is cut to what was asked for instead of being trusted.
 */
function clipToRange(
  bytes: Uint8Array,
  status: number | undefined,
  contentRange: string | undefined,
  offset: number,
  length: number,
): Uint8Array {
  let start = 0; // Offset in the object of bytes[0].
  if (status === 200 || contentRange === undefined) start = status === 206 ? offset : 0;
  else {
    const m = /^bytes (\d+)-/.exec(contentRange);
    start = m ? Number(m[1]) : offset;
  }
  const from = Math.max(0, offset - start);
  const to = length === -1 ? bytes.byteLength : Math.min(bytes.byteLength, from + length);
  return from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(Math.min(from, to), to);
}
