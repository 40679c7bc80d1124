import { compareLabels, compareStrings, InvalidArgumentError, Labels, type Matcher, matcher } from '@thanos-ts/tsdb';
import type { Dispatcher } from 'undici';
import { GrpcStatus, StoreAPIError } from '../storeapi/errors.js';
import { matchExternalLabels } from '../storeapi/local-store.js';
import type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
  StoreInfo,
  StoreSeries,
} from '../storeapi/store-api.js';
import type { PrometheusClient } from './prometheus-client.js';
import { type RemoteReadResponseType, type RemoteReadStats, remoteRead } from './remote-read.js';

/** Options of `createPrometheusStore`. */
export interface PrometheusStoreOptions {
  /** Client of the Prometheus to serve (its URL is also where remote read goes). */
  readonly client: PrometheusClient;
  /** Current external labels of that Prometheus (re-read periodically by the sidecar). */
  readonly externalLabels: () => Labels;
  /** Time range the store advertises and serves, ms (min time from Prometheus's oldest data and --min-time). */
  readonly timestamps: () => { readonly minTime: number; readonly maxTime: number };
  /** Prometheus's version ('' or '0' when unknown): label calls with matchers need ≥ 2.24. */
  readonly version?: () => string;
  /** Whether the store may answer Info (the sidecar is ready). Default: always. */
  readonly isReady?: () => boolean;
  /** Default ['STREAMED_XOR_CHUNKS', 'SAMPLES']. */
  readonly acceptedResponseTypes?: readonly RemoteReadResponseType[];
  readonly dispatcher?: Dispatcher;
  /** Called after each Series request with how the remote read went (metrics, benchmarks). */
  readonly onRemoteRead?: (stats: RemoteReadStats & { series: number }) => void;
}

/**
 * Sorted flat labels of a series with the external labels set on it (they win over a label of the
 * same name, as in Thanos) and the `drop` names removed.
 */
export function withExternalLabels(
  series: readonly string[],
  external: readonly string[],
  drop: ReadonlySet<string> | undefined,
): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  const push = (n: string, v: string) => {
    if (drop === undefined || !drop.has(n)) out.push(n, v);
  };
  while (i < series.length || j < external.length) {
    const sn = series[i];
    const en = external[j];
    if (en === undefined || (sn !== undefined && sn < en)) {
      push(sn as string, series[i + 1] as string);
      i += 2;
    } else if (sn === undefined || en < sn) {
      push(en, external[j + 1] as string);
      j += 2;
    } else {
      push(en, external[j + 1] as string);
      i += 2;
      j += 2;
    }
  }
  return out;
}

/**
 * Matchers as Prometheus's HTTP API takes them. It refuses a `match[]` whose every matcher matches
 * the empty string ("match[] must contain at least one non-empty matcher", web/api/v1), which the
 * StoreAPI allows (`{i=""}`). Adding `__name__=~".+"` makes the request acceptable and keeps the
 * answer for every series with a metric name (all scraped ones; only a remote-written series can
 * lack one, and it is then left out).
 */
function forHttpAPI(matchers: Matcher[]): Matcher[] {
  if (matchers.length === 0 || !matchers.every((m) => m.matches(''))) return matchers;
  return [...matchers, matcher('=~', '__name__', '.+')];
}

/**
 * A StoreAPI backed by one Prometheus: Series through its remote-read endpoint (streamed XOR
 * chunks passed on as they are), label names and values through its HTTP API, every series with
 * the external labels attached. This is Thanos's PrometheusStore (pkg/store/prometheus.go).
 */
export function createPrometheusStore(opts: PrometheusStoreOptions): StoreAPI {
  const { client } = opts;
  const accepted = opts.acceptedResponseTypes ?? ['STREAMED_XOR_CHUNKS', 'SAMPLES'];

  const labelCallsSupportMatchers = (): boolean => {
    const v = opts.version?.() ?? '';
    const m = /^(\d+)\.(\d+)/.exec(v);
    if (!m) return v === '';
    const major = Number(m[1]);
    const minor = Number(m[2]);
    return major > 2 || (major === 2 && minor >= 24);
  };

  async function* series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
    const ext = opts.externalLabels();
    // Thanos's matchesExternalLabels: a request external labels rule out is answered with
    // nothing, without asking Prometheus; matchers external labels satisfy are dropped.
    const matchers = matchExternalLabels(req.matchers, ext);
    if (matchers === undefined) return;
    if (matchers.length === 0) {
      throw new InvalidArgumentError('no matchers specified (excluding external labels)');
    }
    // Never ask for more than Prometheus holds (this includes the --min-time limit).
    const minTime = Math.max(req.minTime, opts.timestamps().minTime);
    const maxTime = req.maxTime;
    if (minTime > maxTime) return;
    const drop = req.withoutReplicaLabels?.length ? new Set(req.withoutReplicaLabels) : undefined;
    const extFlat = ext.toFlat();
    const limit = req.limit && req.limit > 0 ? req.limit : Number.POSITIVE_INFINITY;
    // Dropping labels can change the order of series; the StoreAPI promises sorted series, so then
    // collect, sort and send (Thanos's sortingStrategyStore does the same).
    const sorted = drop === undefined;
    const held: StoreSeries[] = [];
    let sent = 0;

    if (req.skipChunks) {
      const res = await client.series(
        { matchers: forHttpAPI(matchers), start: minTime, end: maxTime, limit: req.limit ?? 0 },
        signal,
      );
      const out: StoreSeries[] = [];
      for (const lset of res.data) {
        const flat = Labels.from(lset).toFlat();
        out.push({ labels: Labels.fromSortedFlat(withExternalLabels(flat, extFlat, drop)), chunks: [] });
      }
      out.sort((a, b) => compareLabels(a.labels, b.labels));
      for (const w of res.warnings) yield { type: 'warning', warning: w };
      for (const s of out) {
        if (sent++ >= limit) break;
        yield { type: 'series', series: s };
      }
      return;
    }

    const stats: RemoteReadStats = { frames: 0, bytes: 0 };
    let count = 0;
    const stream = remoteRead(
      {
        prometheusUrl: client.url,
        acceptedResponseTypes: accepted,
        stats,
        ...(signal ? { signal } : {}),
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      },
      { startMs: minTime, endMs: maxTime, matchers },
    );
    try {
      for await (const s of stream) {
        count++;
        const labels = Labels.fromSortedFlat(withExternalLabels(s.labels, extFlat, drop));
        const out: StoreSeries = { labels, chunks: s.chunks };
        if (!sorted) {
          held.push(out);
          continue;
        }
        yield { type: 'series', series: out };
        if (++sent >= limit) break;
      }
    } finally {
      opts.onRemoteRead?.({ ...stats, series: count });
    }
    if (!sorted) {
      held.sort((a, b) => compareLabels(a.labels, b.labels));
      for (const s of held) {
        if (sent++ >= limit) break;
        yield { type: 'series', series: s };
      }
    }
  }

  return {
    async info() {
      if (opts.isReady && !opts.isReady()) {
        throw new StoreAPIError(
          'CORE_NOT_READY',
          GrpcStatus.UNAVAILABLE,
          'sidecar is not ready: Prometheus not reached yet',
        );
      }
      const ext = opts.externalLabels();
      const { minTime, maxTime } = opts.timestamps();
      const info: StoreInfo = {
        labelSets: ext.size > 0 ? [ext] : [],
        minTime,
        maxTime,
        componentType: 'sidecar',
        supportsWithoutReplicaLabels: true,
        supportsSharding: false,
        tsdbInfos: ext.size > 0 ? [{ labels: ext, minTime, maxTime }] : [],
      };
      return info;
    },

    series,

    async labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      const ext = opts.externalLabels();
      const matchers = matchExternalLabels(req.matchers ?? [], ext);
      if (matchers === undefined) return { names: [], warnings: [] };
      const q = { matchers: forHttpAPI(matchers), start: req.start, end: req.end, limit: req.limit ?? 0 };
      let names: string[];
      let warnings: string[];
      if (matchers.length === 0 || labelCallsSupportMatchers()) {
        ({ data: names, warnings } = await client.labelNames(q, signal));
      } else {
        const res = await client.series(q, signal);
        warnings = res.warnings;
        names = [...new Set(res.data.flatMap((s) => Object.keys(s)))];
      }
      if (names.length > 0) {
        const drop = new Set(req.withoutReplicaLabels ?? []);
        const set = new Set(names);
        for (const l of ext) if (!drop.has(l.name)) set.add(l.name);
        names = [...set].sort(compareStrings);
        // Prometheus 2.42 ignores `limit`, and the external labels come on top: cut here.
        if (req.limit && req.limit > 0) names = names.slice(0, req.limit);
      }
      return { names, warnings };
    },

    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
      if (req.withoutReplicaLabels?.includes(req.label)) return { values: [], warnings: [] };
      const ext = opts.externalLabels();
      const matchers = matchExternalLabels(req.matchers ?? [], ext);
      if (matchers === undefined) return { values: [], warnings: [] };
      const q = { matchers: forHttpAPI(matchers), start: req.start, end: req.end, limit: req.limit ?? 0 };
      const extValue = ext.get(req.label);
      if (extValue !== '') {
        // The label is an external one: its single value, if any series matches at all.
        if (matchers.length === 0) return { values: [extValue], warnings: [] };
        const res = await client.series(q, signal);
        return { values: res.data.length > 0 ? [extValue] : [], warnings: res.warnings };
      }
      let values: string[];
      let warnings: string[];
      if (matchers.length === 0 || labelCallsSupportMatchers()) {
        ({ data: values, warnings } = await client.labelValues(req.label, q, signal));
      } else {
        const res = await client.series(q, signal);
        warnings = res.warnings;
        values = [...new Set(res.data.map((s) => s[req.label]).filter((v): v is string => v !== undefined))];
      }
      return { values: [...values].sort(compareStrings), warnings };
    },
  };
}
