import type { Matcher } from '@thanos-ts/tsdb';
import { crc32c, XorEncoder } from '@thanos-ts/tsdb';
import { type Dispatcher, request } from 'undici';
import type { AggrChunk, ChunkEncoding } from '../storeapi/store-api.js';
import { traceHeaders } from '../tracing/context.js';
import { RemoteReadError } from './errors.js';
import { decodeChunkedReadResponse, type PrompbChunkedSeries } from './prompb/chunked-series.js';
import { prompbTypes } from './prompb/prompb.js';
import { snappyDecode, snappyEncode } from './prompb/snappy.js';

/** Response types a remote-read client may accept, in order of preference (prompb.ReadRequest). */
export type RemoteReadResponseType = 'STREAMED_XOR_CHUNKS' | 'SAMPLES';

/** One remote-read query: a time range (ms, inclusive) and matchers. */
export interface RemoteReadQuery {
  readonly startMs: number;
  readonly endMs: number;
  readonly matchers: readonly Matcher[];
}

/** Options of `remoteRead`. */
export interface RemoteReadOptions {
  /** Prometheus's base URL, e.g. http://localhost:9090 (the client appends /api/v1/read). */
  readonly prometheusUrl: string;
  /** Default ['STREAMED_XOR_CHUNKS', 'SAMPLES'], like Thanos: chunks when the server can, samples otherwise. */
  readonly acceptedResponseTypes?: readonly RemoteReadResponseType[];
  /** Largest frame accepted, bytes (Prometheus's config.DefaultChunkedReadLimit: 50 MB). */
  readonly frameSizeLimit?: number;
  /** undici dispatcher (connection pool); the global one when absent. */
  readonly dispatcher?: Dispatcher;
  readonly signal?: AbortSignal;
  /** Filled in as the read goes: which response type came, frames and bytes read. */
  readonly stats?: RemoteReadStats;
}

/** Counters of one remote read, for logs, metrics and benchmarks. */
export interface RemoteReadStats {
  responseType?: RemoteReadResponseType;
  frames: number;
  bytes: number;
}

/** A series as Prometheus returned it: sorted flat labels [n0, v0, …] and chunks sorted by time. */
export interface RemoteReadSeries {
  readonly labels: string[];
  readonly chunks: AggrChunk[];
}

/** Default frame size limit: Prometheus's DefaultChunkedReadLimit (5e7 bytes). */
export const DEFAULT_FRAME_SIZE_LIMIT = 50_000_000;
/** Samples per chunk when the SAMPLES fallback re-encodes raw samples (Thanos's MaxSamplesPerChunk). */
export const SAMPLES_FALLBACK_CHUNK_SIZE = 120;

const STREAMED_CONTENT_TYPE = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';

/** Joins a base URL and an API path without doubling slashes (keeps a path prefix like /prometheus). */
export function apiUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/** Encodes a prompb.ReadRequest with one query, snappy-compressed as the endpoint expects. */
export function encodeReadRequest(query: RemoteReadQuery, accepted: readonly RemoteReadResponseType[]): Uint8Array {
  const { ReadRequest } = prompbTypes();
  const msg = ReadRequest.fromObject({
    queries: [
      {
        startTimestampMs: query.startMs,
        endTimestampMs: query.endMs,
        matchers: query.matchers.map((m) => ({ type: MATCH_TYPES[m.type], name: m.name, value: m.value })),
      },
    ],
    acceptedResponseTypes: accepted.map((t) => (t === 'STREAMED_XOR_CHUNKS' ? 1 : 0)),
  });
  return snappyEncode(ReadRequest.encode(msg).finish());
}

const MATCH_TYPES = { '=': 0, '!=': 1, '=~': 2, '!~': 3 } as const;

/**
 * Runs one query against Prometheus's remote-read endpoint and streams the series back.
 *
 * With STREAMED_XOR_CHUNKS (Prometheus ≥ 2.13) the body is a sequence of frames — uvarint length,
 * big-endian CRC32C of the message, a prompb.ChunkedReadResponse — and each series' chunks come
 * through exactly as Prometheus stored them (no re-encoding). Prometheus splits a series with many
 * chunks over several consecutive frames; they are joined back into one series here. When the
 * server answers with SAMPLES (a snappy-compressed prompb.ReadResponse) the raw samples are encoded
 * into XOR chunks of 120 samples, as Thanos does.
 *
 * Series come in Prometheus's order (sorted by labels, with Prometheus's own external labels
 * merged in). Stopping the iteration early, or aborting `signal`, closes the HTTP response.
 */
export async function* remoteRead(opts: RemoteReadOptions, query: RemoteReadQuery): AsyncGenerator<RemoteReadSeries> {
  const url = apiUrl(opts.prometheusUrl, '/api/v1/read');
  const accepted = opts.acceptedResponseTypes ?? ['STREAMED_XOR_CHUNKS', 'SAMPLES'];
  const stats = opts.stats;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'POST',
      body: encodeReadRequest(query, accepted),
      headers: {
        'content-encoding': 'snappy',
        'content-type': 'application/x-protobuf',
        'x-prometheus-remote-read-version': '0.1.0',
        'user-agent': 'thanos-ts-sidecar',
        // The StoreAPI call's trace goes on to Prometheus (which traces remote read too).
        ...traceHeaders(),
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new RemoteReadError(url, `request failed: ${describeNetworkError(err)}`, { cause: err });
  }
  const { body } = res;
  let done = false;
  try {
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = (await body.text().catch(() => '')).trim();
      throw new RemoteReadError(url, `server answered ${res.statusCode}${text === '' ? '' : `: ${text}`}`);
    }
    const contentType = String(res.headers['content-type'] ?? '');
    if (contentType.startsWith('application/x-protobuf')) {
      if (stats) stats.responseType = 'SAMPLES';
      yield* samplesResponse(url, body, stats);
    } else if (contentType.startsWith(STREAMED_CONTENT_TYPE)) {
      if (stats) stats.responseType = 'STREAMED_XOR_CHUNKS';
      yield* streamedResponse(url, body, opts.frameSizeLimit ?? DEFAULT_FRAME_SIZE_LIMIT, stats);
    } else {
      throw new RemoteReadError(url, `not supported remote read content type: ${contentType}`);
    }
    done = true;
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    if (err instanceof RemoteReadError) throw err;
    throw new RemoteReadError(url, `reading the response failed: ${describeNetworkError(err)}`, { cause: err });
  } finally {
    // A consumer that stops early (or a failure) leaves the body unread: destroy it so the
    // connection is not reused half-read.
    if (!done) body.destroy();
  }
}

/** Says what a network error means, naming the usual causes. */
export function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const msg = e?.message ?? String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused (${msg}): is Prometheus running there?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${msg})`;
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
      return `connection closed by Prometheus (${msg})`;
    default:
      return code ? `${msg} (${code})` : msg;
  }
}

async function* streamedResponse(
  url: string,
  body: AsyncIterable<Uint8Array>,
  sizeLimit: number,
  stats: RemoteReadStats | undefined,
): AsyncGenerator<RemoteReadSeries> {
  let pending: RemoteReadSeries | undefined;
  let pendingKey = '';
  for await (const frame of readChunkedFrames(url, body, sizeLimit, stats)) {
    const resp = decodeChunkedReadResponse(frame);
    for (const s of resp.chunkedSeries) {
      const key = s.labels.join('\xff');
      const chunks = toAggrChunks(url, s);
      if (pending !== undefined && key === pendingKey) {
        for (const c of chunks) pending.chunks.push(c);
        continue;
      }
      if (pending !== undefined) yield pending;
      pending = { labels: s.labels, chunks };
      pendingKey = key;
    }
  }
  if (pending !== undefined) yield pending;
}

const ENCODINGS: Record<number, ChunkEncoding> = { 1: 'XOR', 2: 'HISTOGRAM', 3: 'FLOAT_HISTOGRAM' };

function toAggrChunks(url: string, s: PrompbChunkedSeries): AggrChunk[] {
  const out: AggrChunk[] = new Array(s.chunks.length);
  for (let i = 0; i < s.chunks.length; i++) {
    const c = s.chunks[i] as PrompbChunkedSeries['chunks'][number];
    // prompb's Chunk.Encoding starts with UNKNOWN = 0, so XOR is 1; storepb's starts at XOR = 0.
    const type = ENCODINGS[c.type];
    if (type === undefined) throw new RemoteReadError(url, `unsupported chunk encoding ${c.type} in series`);
    out[i] = { minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type, data: c.data } };
  }
  return out;
}

/**
 * Splits a streamed remote-read body into frame payloads, checking each frame's CRC32C. A frame
 * that lies inside one network chunk is returned as a view of it (no copy).
 */
export async function* readChunkedFrames(
  url: string,
  body: AsyncIterable<Uint8Array>,
  sizeLimit = DEFAULT_FRAME_SIZE_LIMIT,
  stats?: RemoteReadStats,
): AsyncGenerator<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let have = 0;
  // Bytes the frame at the head of the queue needs in total, once its header has been read.
  let need = 0;
  let headerLen = 0;
  const header = new Uint8Array(14);
  for await (const chunk of body) {
    if (chunk.length === 0) continue;
    pieces.push(chunk);
    have += chunk.length;
    if (stats) stats.bytes += chunk.length;
    for (;;) {
      if (need === 0) {
        // Header: uvarint size (≤ 10 bytes) then a 4-byte CRC.
        const hlen = copyPrefix(pieces, header, Math.min(have, header.length));
        let size = 0;
        let mul = 1;
        let p = 0;
        let complete = false;
        while (p < hlen && p < 10) {
          const b = header[p++] as number;
          size += (b & 0x7f) * mul;
          mul *= 128;
          if (b < 0x80) {
            complete = true;
            break;
          }
        }
        if (!complete) {
          if (hlen >= 10) throw new RemoteReadError(url, 'corrupted frame: invalid length varint');
          break;
        }
        if (size > sizeLimit) {
          throw new RemoteReadError(url, `frame of ${size} bytes exceeds the limit of ${sizeLimit} bytes`);
        }
        headerLen = p;
        need = p + 4 + size;
      }
      if (have < need) break;
      const total = need;
      const p = headerLen;
      const frame = take(pieces, total);
      have -= total;
      need = 0;
      const crc =
        ((frame[p] as number) * 0x1000000 +
          (((frame[p + 1] as number) << 16) | ((frame[p + 2] as number) << 8) | (frame[p + 3] as number))) >>>
        0;
      if (crc32c(frame, 0, p + 4, total) !== crc) {
        throw new RemoteReadError(url, 'corrupted frame: checksum mismatch');
      }
      if (stats) stats.frames++;
      yield frame.subarray(p + 4, total);
    }
  }
  if (have > 0) throw new RemoteReadError(url, `stream ended inside a frame (${have} bytes left over)`);
}

/** Copies up to `n` leading bytes of the queued pieces into `into`; returns how many. */
function copyPrefix(pieces: Uint8Array[], into: Uint8Array, n: number): number {
  let off = 0;
  for (const piece of pieces) {
    const k = Math.min(piece.length, n - off);
    into.set(piece.subarray(0, k), off);
    off += k;
    if (off >= n) break;
  }
  return off;
}

/** Removes the first `n` bytes from the queued pieces: a view when one piece holds them all. */
function take(pieces: Uint8Array[], n: number): Uint8Array {
  const first = pieces[0] as Uint8Array;
  if (first.length >= n) {
    if (first.length === n) pieces.shift();
    else pieces[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  const out = new Uint8Array(n);
  let off = 0;
  let used = 0;
  while (off < n) {
    const piece = pieces[used] as Uint8Array;
    const k = Math.min(piece.length, n - off);
    out.set(piece.subarray(0, k), off);
    off += k;
    if (k === piece.length) used++;
    else pieces[used] = piece.subarray(k);
  }
  // One splice instead of a shift per piece: a frame can span thousands of small network reads.
  pieces.splice(0, used);
  return out;
}

interface PbSeries {
  labels?: { name?: string; value?: string }[];
  samples?: { value?: number; timestamp?: number | { toNumber(): number } }[];
}

async function* samplesResponse(
  url: string,
  body: AsyncIterable<Uint8Array>,
  stats: RemoteReadStats | undefined,
): AsyncGenerator<RemoteReadSeries> {
  const parts: Uint8Array[] = [];
  for await (const chunk of body) parts.push(chunk);
  const compressed = Buffer.concat(parts);
  if (stats) stats.bytes += compressed.length;
  let raw: Uint8Array;
  try {
    raw = snappyDecode(compressed);
  } catch (err) {
    throw new RemoteReadError(url, `decompress response: ${(err as Error).message}`, { cause: err });
  }
  const { ReadResponse } = prompbTypes();
  const msg = ReadResponse.toObject(ReadResponse.decode(raw), { longs: Number }) as {
    results?: { timeseries?: PbSeries[] }[];
  };
  const results = msg.results ?? [];
  if (results.length !== 1) throw new RemoteReadError(url, `unexpected result size ${results.length}`);
  for (const ts of results[0]?.timeseries ?? []) {
    const pairs = (ts.labels ?? []).map((l) => [l.name ?? '', l.value ?? ''] as const);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const samples = ts.samples ?? [];
    // Prometheus can send series without samples (thanos-io/thanos#381): skip them like Thanos.
    if (samples.length === 0) continue;
    yield { labels: pairs.flat(), chunks: encodeSamples(samples) };
  }
}

function encodeSamples(samples: NonNullable<PbSeries['samples']>): AggrChunk[] {
  const chunks: AggrChunk[] = [];
  const enc = new XorEncoder();
  let minTime = 0;
  let maxTime = 0;
  for (const s of samples) {
    const t = typeof s.timestamp === 'number' ? s.timestamp : (s.timestamp?.toNumber() ?? 0);
    if (enc.numSamples === 0) minTime = t;
    enc.append(t, s.value ?? 0);
    maxTime = t;
    if (enc.numSamples === SAMPLES_FALLBACK_CHUNK_SIZE) {
      chunks.push({ minTime, maxTime, raw: { type: 'XOR', data: enc.bytes() } });
      enc.reset();
    }
  }
  if (enc.numSamples > 0) chunks.push({ minTime, maxTime, raw: { type: 'XOR', data: enc.bytes() } });
  return chunks;
}
