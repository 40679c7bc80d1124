import { readFileSync } from 'node:fs';
import { InvalidArgumentError, isStaleNaN, Labels } from '@thanos-ts/tsdb';
import { parsePromDuration } from '@thanos-ts/tsdb/goformat';
import { Counter, Gauge, type Registry } from 'prom-client';
import { parse as parseYAML } from 'yaml';
import type { Logger } from '../log/logger.js';
import { encodeWriteRequest, markStale, type WriteSeries } from '../receive/wire.js';
import { snappyEncode } from '../sidecar/prompb/snappy.js';
import { parseRelabelConfig, type RelabelRule, relabel } from '../store/relabel.js';
import type { SampleAppender } from './group.js';

/** One `remote_write` entry (Prometheus's config.RemoteWriteConfig, the parts thanos-ts sends with). */
export interface RemoteWriteConfig {
  /** Receiver URL (http or https). */
  readonly url: string;
  /** `remote_name` of the metrics. Default: the URL's host and path. */
  readonly name: string;
  /** Timeout of one send, ms (`remote_timeout`). Default 30_000. */
  readonly remoteTimeoutMs: number;
  /** Extra request headers (`headers`). */
  readonly headers: Readonly<Record<string, string>>;
  /** `Authorization` header value from basic_auth, bearer_token(_file) or authorization. */
  readonly authorization?: string;
  /** `write_relabel_configs`, applied after external labels; a dropped series is not sent. */
  readonly writeRelabel: readonly RelabelRule[];
  /** Samples per request (`queue_config.max_samples_per_send`). Default 2000. */
  readonly maxSamplesPerSend: number;
  /** Longest a sample waits for a full batch, ms (`queue_config.batch_send_deadline`). Default 5_000. */
  readonly batchSendDeadlineMs: number;
  /** First retry delay, ms (`queue_config.min_backoff`). Default 30. */
  readonly minBackoffMs: number;
  /** Largest retry delay, ms (`queue_config.max_backoff`). Default 5_000. */
  readonly maxBackoffMs: number;
  /**
   * Samples kept waiting in memory (`queue_config.capacity` × 10, as Prometheus's queue holds
   * `capacity` per shard); past it the oldest are dropped and counted. Default 100_000.
   */
  readonly maxPendingSamples: number;
}

/** Fields of remote_write Prometheus has but thanos-ts cannot honour yet: refused, not ignored. */
const UNSUPPORTED = [
  'tls_config',
  'oauth2',
  'sigv4',
  'azuread',
  'proxy_url',
  'proxy_from_environment',
  'follow_redirects',
];

function duration(v: unknown, where: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  try {
    return parsePromDuration(String(v));
  } catch {
    throw new InvalidArgumentError(`${where}: not a valid duration string: ${JSON.stringify(v)}`);
  }
}

function positiveInt(v: unknown, where: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new InvalidArgumentError(`${where}: want a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function secret(value: unknown, file: unknown, where: string): string | undefined {
  if (value !== undefined && file !== undefined)
    throw new InvalidArgumentError(`${where}: at most one of the secret and its _file may be configured`);
  if (typeof file === 'string') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new InvalidArgumentError(`${where}: unable to read ${file}: ${(err as Error).message}`);
    }
  }
  return value === undefined ? undefined : String(value);
}

/**
 * Parses the YAML of --remote-write.config: `remote_write:` with Prometheus's remote_write
 * entries. An empty document (or no entries) yields [] — Thanos then runs the ruler with its own
 * TSDB. Unknown fields are ignored as Thanos's non-strict unmarshal does, but transport fields
 * thanos-ts does not implement (tls_config, oauth2, sigv4, azuread, proxy_url) are refused.
 */
export function parseRemoteWriteConfig(text: string): RemoteWriteConfig[] {
  if (text.trim() === '') return [];
  let doc: unknown;
  try {
    doc = parseYAML(text);
  } catch (err) {
    throw new InvalidArgumentError(`failed to parse remote write config: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new InvalidArgumentError('failed to parse remote write config: want a mapping with remote_write');
  const list = (doc as { remote_write?: unknown }).remote_write;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new InvalidArgumentError('remote_write: want a list');
  const names = new Set<string>();
  return list.map((raw, i) => {
    const where = `remote_write[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new InvalidArgumentError(`${where}: want a mapping`);
    const r = raw as Record<string, unknown>;
    for (const k of UNSUPPORTED)
      if (r[k] !== undefined) throw new InvalidArgumentError(`${where}: ${k} is not supported by thanos-ts yet`);
    // Prometheus's own texts (config/config.go RemoteWriteConfig.UnmarshalYAML).
    if (r.url === undefined || r.url === null || r.url === '')
      throw new InvalidArgumentError('url for remote_write is empty');
    let url: URL;
    try {
      url = new URL(String(r.url));
    } catch {
      throw new InvalidArgumentError(`${where}: invalid url ${JSON.stringify(r.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InvalidArgumentError(`${where}: url scheme must be http or https, got ${JSON.stringify(url.protocol)}`);
    const name = r.name === undefined ? `${url.host}${url.pathname}` : String(r.name);
    if (r.name !== undefined) {
      if (names.has(name))
        throw new InvalidArgumentError(`found multiple remote write configs with job name "${name}"`);
      names.add(name);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((r.headers as Record<string, unknown> | undefined) ?? {})) {
      const lower = k.toLowerCase();
      // Prometheus refuses headers its protocol sets itself.
      if (
        [
          'authorization',
          'content-encoding',
          'content-type',
          'user-agent',
          'x-prometheus-remote-write-version',
        ].includes(lower)
      )
        throw new InvalidArgumentError(`${lower} is a reserved header. It must not be changed`);
      headers[k] = String(v);
    }
    const auths: string[] = [];
    const ba = r.basic_auth as Record<string, unknown> | undefined;
    if (ba) {
      const password = secret(ba.password, ba.password_file, `${where}.basic_auth`) ?? '';
      auths.push(`Basic ${Buffer.from(`${String(ba.username ?? '')}:${password}`).toString('base64')}`);
    }
    const bearer = secret(r.bearer_token, r.bearer_token_file, `${where}.bearer_token`);
    if (bearer !== undefined) auths.push(`Bearer ${bearer}`);
    const az = r.authorization as Record<string, unknown> | undefined;
    if (az) {
      const cred = secret(az.credentials, az.credentials_file, `${where}.authorization`) ?? '';
      auths.push(`${String(az.type ?? 'Bearer')} ${cred}`);
    }
    if (auths.length > 1)
      throw new InvalidArgumentError(
        'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
      );
    const q = (r.queue_config as Record<string, unknown> | undefined) ?? {};
    const relabelRules =
      r.write_relabel_configs === undefined
        ? []
        : parseRelabelConfig(JSON.stringify(r.write_relabel_configs), `${where}.write_relabel_configs`);
    return {
      url: url.toString(),
      name,
      remoteTimeoutMs: duration(r.remote_timeout, `${where}.remote_timeout`, 30_000),
      headers,
      ...(auths[0] !== undefined ? { authorization: auths[0] } : {}),
      writeRelabel: relabelRules,
      maxSamplesPerSend: positiveInt(q.max_samples_per_send, `${where}.queue_config.max_samples_per_send`, 2000),
      batchSendDeadlineMs: duration(q.batch_send_deadline, `${where}.queue_config.batch_send_deadline`, 5_000),
      minBackoffMs: duration(q.min_backoff, `${where}.queue_config.min_backoff`, 30),
      maxBackoffMs: duration(q.max_backoff, `${where}.queue_config.max_backoff`, 5_000),
      maxPendingSamples: positiveInt(q.capacity, `${where}.queue_config.capacity`, 10_000) * 10,
    };
  });
}

/** Options of {@link createRemoteWriter}. */
export interface RemoteWriterOptions {
  configs: readonly RemoteWriteConfig[];
  /** Added to every series (the ruler's --label), before write relabelling, as Prometheus does. */
  externalLabels: Record<string, string>;
  registry: Registry;
  logger: Logger;
}

/** Sends appended samples to remote-write receivers (the stateless ruler's storage). */
export interface RemoteWriter {
  /** An appender whose committed samples are queued for every receiver. */
  appender(): SampleAppender;
  /** Resolves once everything queued so far was sent (or given up on), or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  /** Flushes for at most `timeoutMs` and stops sending. Safe to call twice. */
  close(timeoutMs: number): Promise<void>;
}

interface Pending {
  labels: Labels;
  t: number;
  v: number;
}

/** Prometheus's remote-write metric names, labelled by remote_name and url. */
function createMetrics(registry: Registry) {
  const labelNames = ['remote_name', 'url'] as const;
  return {
    samples: new Counter({
      name: 'prometheus_remote_storage_samples_total',
      help: 'Total number of samples sent to remote storage.',
      labelNames,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'prometheus_remote_storage_samples_failed_total',
      help: 'Total number of samples which failed on send to remote storage, non-recoverable errors.',
      labelNames,
      registers: [registry],
    }),
    retried: new Counter({
      name: 'prometheus_remote_storage_samples_retried_total',
      help: 'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.',
      labelNames,
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'prometheus_remote_storage_samples_dropped_total',
      help: 'Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.',
      labelNames,
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'prometheus_remote_storage_samples_pending',
      help: 'The number of samples pending in the queues shards to be sent to the remote storage.',
      labelNames,
      registers: [registry],
    }),
    highestSent: new Gauge({
      name: 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
      help: 'Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.',
      labelNames,
      registers: [registry],
    }),
  };
}

/** One receiver's queue: batches of at most maxSamplesPerSend, sent one at a time, in order. */
class Queue {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly lbl: { remote_name: string; url: string };

  constructor(
    private readonly cfg: RemoteWriteConfig,
    private readonly metrics: ReturnType<typeof createMetrics>,
    private readonly logger: Logger,
  ) {
    this.lbl = { remote_name: cfg.name, url: cfg.url };
  }

  push(samples: readonly Pending[]): void {
    if (this.closed) return;
    for (const s of samples) {
      if (this.cfg.writeRelabel.length === 0) {
        this.pending.push(s);
        continue;
      }
      const out = relabel(s.labels.toRecord(), this.cfg.writeRelabel);
      if (!out) {
        this.metrics.dropped.inc(this.lbl);
        continue;
      }
      this.pending.push({ labels: Labels.from(out), t: s.t, v: s.v });
    }
    const over = this.pending.length - this.cfg.maxPendingSamples;
    if (over > 0) {
      this.pending.splice(0, over);
      this.metrics.failed.inc(this.lbl, over);
      this.logger.warn('remote write queue full: oldest samples dropped', {
        remote_name: this.cfg.name,
        samples: over,
      });
    }
    this.metrics.pending.set(this.lbl, this.pending.length);
    if (this.pending.length >= this.cfg.maxSamplesPerSend) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.cfg.batchSendDeadlineMs).unref();
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined;
      if (this.pending.length > 0 && !this.closed) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.abort.signal.aborted) {
      const batch = this.pending.splice(0, this.cfg.maxSamplesPerSend);
      this.metrics.pending.set(this.lbl, this.pending.length);
      await this.sendWithRetry(batch);
    }
  }

  private async sendWithRetry(batch: Pending[]): Promise<void> {
    const body = snappyEncode(encodeWriteRequest(toWriteSeries(batch)));
    let backoff = this.cfg.minBackoffMs;
    for (;;) {
      let recoverable: boolean;
      let detail: string;
      try {
        const res = await fetch(this.cfg.url, {
          method: 'POST',
          body,
          headers: {
            ...this.cfg.headers,
            'Content-Encoding': 'snappy',
            'Content-Type': 'application/x-protobuf',
            'User-Agent': 'thanos-ts-ruler',
            'X-Prometheus-Remote-Write-Version': '0.1.0',
            ...(this.cfg.authorization ? { Authorization: this.cfg.authorization } : {}),
          },
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.cfg.remoteTimeoutMs)]),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) {
          this.metrics.samples.inc(this.lbl, batch.length);
          let hi = 0;
          for (const s of batch) if (s.t > hi) hi = s.t;
          this.metrics.highestSent.set(this.lbl, hi / 1000);
          return;
        }
        // Prometheus retries 5xx and 429; other statuses are the request's fault.
        recoverable = res.status >= 500 || res.status === 429;
        detail = `server returned HTTP status ${res.status} ${res.statusText}: ${text.slice(0, 256)}`;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        recoverable = true;
        detail = (err as Error).message;
      }
      if (!recoverable) {
        this.metrics.failed.inc(this.lbl, batch.length);
        this.logger.error('non-recoverable error while sending remote write', {
          remote_name: this.cfg.name,
          count: batch.length,
          err: detail,
        });
        return;
      }
      this.metrics.retried.inc(this.lbl, batch.length);
      this.logger.warn('failed to send batch, retrying', { remote_name: this.cfg.name, err: detail });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.abort.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (this.abort.signal.aborted) {
        this.metrics.failed.inc(this.lbl, batch.length);
        return;
      }
      backoff = Math.min(backoff * 2, this.cfg.maxBackoffMs);
    }
  }

  async flush(timeoutMs: number): Promise<void> {
    if (this.pending.length > 0) this.kick();
    const done = (async () => {
      while (this.sending) await this.sending;
    })();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.timer);
    const lost = this.pending.length;
    if (lost > 0) {
      this.metrics.failed.inc(this.lbl, lost);
      this.logger.warn('remote write samples not sent before shutdown', { remote_name: this.cfg.name, samples: lost });
    }
    this.pending = [];
    this.abort.abort();
    await this.sending;
  }
}

/** Groups samples by series, in arrival order (a rule writes each series once per evaluation). */
function toWriteSeries(batch: readonly Pending[]): WriteSeries[] {
  const bySeries = new Map<string, WriteSeries>();
  for (const s of batch) {
    const key = s.labels.key();
    let w = bySeries.get(key);
    if (!w) {
      w = {
        labels: [...s.labels].map((l) => ({ name: l.name, value: l.value })),
        timestamps: [],
        values: [],
        histograms: 0,
      };
      bySeries.set(key, w);
    }
    if (isStaleNaN(s.v)) markStale(w, w.values.length);
    w.timestamps.push(s.t);
    w.values.push(s.v);
  }
  return [...bySeries.values()];
}

/**
 * Creates the stateless ruler's storage (Thanos's remote-write mode): committed samples get the
 * external labels and each receiver's write relabelling, then are sent as Prometheus remote-write
 * 1.0 requests (snappy protobuf), batched per receiver and retried with backoff on 5xx, 429 and
 * network errors. Unlike Prometheus's agent WAL, samples wait in memory: a crash loses at most
 * `batch_send_deadline` of them plus whatever a receiver outage queued. No I/O until samples come.
 */
export function createRemoteWriter(opts: RemoteWriterOptions): RemoteWriter {
  const metrics = createMetrics(opts.registry);
  const queues = opts.configs.map((c) => new Queue(c, metrics, opts.logger));
  const ext = Object.entries(opts.externalLabels);
  const withExternal = (l: Labels): Labels => {
    if (ext.length === 0) return l;
    // Series labels win over external labels of the same name (Prometheus's remote storage).
    const rec = l.toRecord();
    for (const [k, v] of ext) if (!(k in rec)) rec[k] = v;
    return Labels.from(rec);
  };
  return {
    appender(): SampleAppender {
      let batch: Pending[] = [];
      return {
        append(labels, t, v) {
          batch.push({ labels: withExternal(labels), t, v });
          return 0;
        },
        async commit() {
          for (const q of queues) q.push(batch);
          batch = [];
        },
        async rollback() {
          batch = [];
        },
      };
    },
    async flush(timeoutMs) {
      await Promise.all(queues.map((q) => q.flush(timeoutMs)));
    },
    async close(timeoutMs) {
      await Promise.all(queues.map((q) => q.close(timeoutMs)));
    },
  };
}
