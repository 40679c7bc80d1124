import { compareLabels, type Labels, type Matcher, type MatchType, matcher, XorIterator } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatus } from '../storeapi/errors.js';
import type { SeriesRequest, StoreAPI, StoreSeries } from '../storeapi/store-api.js';
import { STORE_API_FIXTURE, type StoreAPIFixture } from './fixture.js';

/** A store loaded with the fixture, made once per {@link describeStoreAPI} block. */
export interface StoreAPIUnderTest {
  readonly store: StoreAPI;
  /** Stops what setup started (servers, processes, temp dirs). Called once, after the last test. */
  close(): Promise<void>;
}

/**
 * Loads exactly the fixture's series (labels, samples) into a new store whose external labels are
 * `fixture.externalLabels`, and returns it once it serves them.
 */
export type StoreAPISetup = (fixture: StoreAPIFixture) => Promise<StoreAPIUnderTest>;

/**
 * Where a store legitimately differs from the strict contract. Each field says which assertion
 * changes and why; nothing is skipped silently.
 */
export interface StoreAPICapabilities {
  /**
   * Label names and values over a time range that holds no sample come back empty. Default true.
   * False for stores that answer label calls over whole blocks or a whole head regardless of the
   * range (Thanos's acceptance test notes the same approximation, "we index labels within block
   * range"); the suite then only checks such answers are a subset of the full answer.
   */
  exactLabelTimeRange?: boolean;
  /**
   * An answer that is empty because nothing in the store could match (external labels or time
   * range rule it out) may carry one warning starting "No StoreAPIs matched for this query". Default
   * false. True for the querier: it says so to its users on purpose (docs/components/query.md),
   * where Thanos's proxy only logs it at debug level; any other warning still fails.
   */
  warnsWhenNoStoreMatches?: boolean;
}

/** Options of {@link describeStoreAPI}. */
export interface DescribeStoreAPIOptions {
  capabilities?: StoreAPICapabilities;
  /** Timeout of `setup`, ms. Default 120_000 (a real Prometheus may take a while to start). */
  setupTimeoutMs?: number;
}

const MINUTE = 60_000;
const NO_STORES_MATCHED = 'No StoreAPIs matched for this query';
const DAY = 24 * 60 * MINUTE;
const F = STORE_API_FIXTURE;
const T0 = F.minTime;

// The fixture's series with the external label, by the letters the expectations below use.
// The external `region` replaces kube_pod_info's own `region` label.
const withExt = (i: number): Record<string, string> => ({
  ...(F.series[i] as StoreAPIFixture['series'][number]).labels,
  ...F.externalLabels,
});
const G = withExt(0); // http_requests_total (dense)
const K = withExt(1); // kube_pod_info, region hidden
const B = withExt(2); // up{i="a",n="1"}
const C = withExt(3); // up{i="b",n="1"}
const A = withExt(4); // up{n="1"}
const D = withExt(5); // up{n="2"}, first 10 minutes only
const E = withExt(6); // up{n="2.5"}, last 10 minutes only
const ALL = [G, K, B, C, A, D, E];
const ALL_NAMES = ['__name__', 'code', 'handler', 'i', 'job', 'n', 'pod', 'region'];

type M = [MatchType, string, string];
const ms = (list: readonly M[]): Matcher[] => list.map(([t, n, v]) => matcher(t, n, v));

interface SeriesCase {
  name: string;
  matchers: M[];
  want: Record<string, string>[];
}

// Expectations are written out by hand (not computed with tsdb's matchers), so a matcher bug in
// tsdb shows up here too. Order is the StoreAPI's: sorted by labels.
const SERIES_CASES: SeriesCase[] = [
  { name: 'equal', matchers: [['=', 'n', '1']], want: [B, C, A] },
  {
    name: 'two equals',
    matchers: [
      ['=', 'n', '1'],
      ['=', 'i', 'a'],
    ],
    want: [B],
  },
  {
    name: 'equal to a missing value',
    matchers: [
      ['=', 'n', '1'],
      ['=', 'i', 'missing'],
    ],
    want: [],
  },
  { name: 'missing label equal to empty matches all', matchers: [['=', 'missing', '']], want: ALL },
  { name: 'not equal matches series without the label', matchers: [['!=', 'n', '1']], want: [G, K, D, E] },
  { name: 'regex .+ needs the label', matchers: [['=~', 'i', '.+']], want: [B, C] },
  { name: 'regex .* matches absent labels', matchers: [['=~', 'i', '.*']], want: ALL },
  { name: 'equal empty means absent', matchers: [['=', 'i', '']], want: [G, K, A, D, E] },
  { name: 'not equal empty means present', matchers: [['!=', 'i', '']], want: [B, C] },
  { name: 'missing label not equal empty', matchers: [['!=', 'missing', '']], want: [] },
  {
    name: 'equal and not equal',
    matchers: [
      ['=', 'n', '1'],
      ['!=', 'i', 'a'],
    ],
    want: [C, A],
  },
  { name: 'regex with explicit anchors', matchers: [['=~', 'n', '^1$']], want: [B, C, A] },
  { name: 'regex is anchored', matchers: [['=~', 'n', '2']], want: [D] },
  {
    name: 'regex with optional',
    matchers: [
      ['=', 'n', '1'],
      ['=~', 'i', '^a?$'],
    ],
    want: [B, A],
  },
  { name: 'regex for empty', matchers: [['=~', 'i', '^$']], want: [G, K, A, D, E] },
  {
    name: 'regex ^.*$ with equal',
    matchers: [
      ['=', 'n', '1'],
      ['=~', 'i', '^.*$'],
    ],
    want: [B, C, A],
  },
  {
    name: 'regex ^.+$ with equal',
    matchers: [
      ['=', 'n', '1'],
      ['=~', 'i', '^.+$'],
    ],
    want: [B, C],
  },
  { name: 'not regex anchored', matchers: [['!~', 'n', '^1$']], want: [G, K, D, E] },
  { name: 'not regex alternation', matchers: [['!~', 'n', '1|2.5']], want: [G, K, D] },
  {
    name: 'not regex optional',
    matchers: [
      ['=', 'n', '1'],
      ['!~', 'i', '^a?$'],
    ],
    want: [C],
  },
  {
    name: 'not regex .* matches nothing',
    matchers: [
      ['=', 'n', '1'],
      ['!~', 'i', '^.*$'],
    ],
    want: [],
  },
  {
    name: 'not regex .+ means absent',
    matchers: [
      ['=', 'n', '1'],
      ['!~', 'i', '^.+$'],
    ],
    want: [A],
  },
  {
    name: 'three matchers on one label',
    matchers: [
      ['=', 'n', '1'],
      ['!=', 'i', ''],
      ['=', 'i', 'a'],
    ],
    want: [B],
  },
  {
    name: 'not equal and regex on one label',
    matchers: [
      ['=', 'n', '1'],
      ['!=', 'i', 'b'],
      ['=~', 'i', '^(b|a).*$'],
    ],
    want: [B],
  },
  { name: 'regex group', matchers: [['=~', 'n', '(1|2)']], want: [B, C, A, D] },
  { name: 'regex alternation with a non-matching literal', matchers: [['=~', 'n', 'x1|2']], want: [D] },
  { name: 'regex escaped dot', matchers: [['=~', 'n', '2|2\\.5']], want: [D, E] },
  { name: 'regex with an empty alternative', matchers: [['=~', 'i', 'c||d']], want: [G, K, A, D, E] },
  {
    name: 'regex prefix',
    matchers: [
      ['=', '__name__', 'up'],
      ['=~', 'job', 'a.*'],
    ],
    want: [B, C, A],
  },
  { name: 'metric name regex', matchers: [['=~', '__name__', 'up|kube.*']], want: [K, B, C, A, D, E] },
  { name: 'value with slashes', matchers: [['=', 'handler', '/api/v1/query']], want: [G] },
  { name: 'no such metric', matchers: [['=', '__name__', 'nonexistent']], want: [] },
  {
    name: 'external label equal',
    matchers: [
      ['=', 'region', 'eu-west'],
      ['=', 'n', '1'],
    ],
    want: [B, C, A],
  },
  {
    name: 'external label hides a series label of the same name',
    matchers: [['=', 'region', 'somewhere']],
    want: [],
  },
  {
    name: 'external label regex',
    matchers: [
      ['=~', 'region', 'eu-.*'],
      ['=', '__name__', 'kube_pod_info'],
    ],
    want: [K],
  },
  { name: 'external label not equal rules the store out', matchers: [['!=', 'region', 'eu-west']], want: [] },
];

interface LabelCase {
  name: string;
  label?: string;
  matchers?: M[];
  start?: number;
  end?: number;
  want: string[];
}

const LABEL_NAMES_CASES: LabelCase[] = [
  { name: 'all', want: ALL_NAMES },
  {
    name: 'two equals',
    matchers: [
      ['=', 'n', '1'],
      ['=', 'i', 'a'],
    ],
    want: ['__name__', 'i', 'job', 'n', 'region'],
  },
  { name: 'one job', matchers: [['=', 'job', 'db']], want: ['__name__', 'job', 'n', 'region'] },
  { name: 'one metric', matchers: [['=', '__name__', 'kube_pod_info']], want: ['__name__', 'pod', 'region'] },
  { name: 'no such metric', matchers: [['=', '__name__', 'nonexistent']], want: [] },
  { name: 'external label equal', matchers: [['=', 'region', 'eu-west']], want: ALL_NAMES },
  { name: 'external label regex .*', matchers: [['=~', 'region', '.*']], want: ALL_NAMES },
  { name: 'external label rules the store out', matchers: [['=', 'region', 'other']], want: [] },
  {
    name: 'external and series matchers',
    matchers: [
      ['=', 'region', 'eu-west'],
      ['=', 'job', 'db'],
    ],
    want: ['__name__', 'job', 'n', 'region'],
  },
];

const LABEL_VALUES_CASES: LabelCase[] = [
  { name: 'n', label: 'n', want: ['1', '2', '2.5'] },
  { name: 'i', label: 'i', want: ['a', 'b'] },
  { name: 'metric names', label: '__name__', want: ['http_requests_total', 'kube_pod_info', 'up'] },
  { name: 'value with slashes', label: 'handler', want: ['/api/v1/query'] },
  { name: 'external label wins over the series label', label: 'region', want: ['eu-west'] },
  { name: 'missing label', label: 'missing', want: [] },
  { name: 'n of one job', label: 'n', matchers: [['=', 'job', 'db']], want: ['2', '2.5'] },
  { name: 'i of n=1', label: 'i', matchers: [['=', 'n', '1']], want: ['a', 'b'] },
  { name: 'i of n!=1', label: 'i', matchers: [['!=', 'n', '1']], want: [] },
  { name: 'n of series without i', label: 'n', matchers: [['=', 'i', '']], want: ['1', '2', '2.5'] },
  { name: 'pod of one metric', label: 'pod', matchers: [['=', '__name__', 'kube_pod_info']], want: ['pod-1'] },
  { name: 'external label, no series', label: 'region', matchers: [['=', '__name__', 'nonexistent']], want: [] },
  { name: 'external label ruled out', label: 'region', matchers: [['=', 'region', 'eu-east']], want: [] },
  {
    name: 'external label of matching series',
    label: 'region',
    matchers: [
      ['=', '__name__', 'up'],
      ['=', 'job', 'api'],
    ],
    want: ['eu-west'],
  },
  {
    name: 'external label with a regex on itself',
    label: 'region',
    matchers: [
      ['=', '__name__', 'up'],
      ['=~', 'region', '.*'],
    ],
    want: ['eu-west'],
  },
  {
    name: 'matcher on the external label',
    label: 'n',
    matchers: [['=', 'region', 'eu-west']],
    want: ['1', '2', '2.5'],
  },
  { name: 'external label rules the store out', label: 'n', matchers: [['=', 'region', 'different']], want: [] },
];

// Time ranges holding no sample: a day before the data and a day after it.
const EMPTY_RANGES = [
  { name: 'before the data', start: T0 - 2 * DAY, end: T0 - DAY },
  { name: 'after the data', start: F.maxTime + DAY, end: F.maxTime + 2 * DAY },
];

interface Collected {
  series: StoreSeries[];
  warnings: string[];
}

async function collect(store: StoreAPI, req: SeriesRequest, signal?: AbortSignal): Promise<Collected> {
  const out: Collected = { series: [], warnings: [] };
  for await (const m of store.series(req, signal)) {
    if (m.type === 'series') out.series.push(m.series);
    else if (m.type === 'warning') out.warnings.push(m.warning);
  }
  return out;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** Whether an error means "bad input": tsdb's InvalidArgumentError in process, INVALID_ARGUMENT over gRPC. */
function isInvalidArgument(err: unknown): boolean {
  const e = err as { code?: unknown; grpcCode?: unknown };
  return e?.code === 'INVALID_ARGUMENT' || e?.grpcCode === GrpcStatus.INVALID_ARGUMENT;
}

/** Whether an error means "the caller gave up": an AbortError in process, CANCELLED over gRPC. */
function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; grpcCode?: unknown };
  return e?.name === 'AbortError' || e?.grpcCode === GrpcStatus.CANCELLED;
}

function expectSorted(series: readonly StoreSeries[]): void {
  for (let i = 1; i < series.length; i++) {
    const prev = (series[i - 1] as StoreSeries).labels;
    const cur = (series[i] as StoreSeries).labels;
    expect(compareLabels(prev, cur), `series ${i} (${cur}) after ${prev}: sorted and unique`).toBeLessThan(0);
  }
}

const records = (series: readonly StoreSeries[]) => series.map((s) => s.labels.toRecord());

/** Samples of a series' chunks, checking each chunk decodes and its bounds are its samples'. */
function decode(s: StoreSeries): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  let prevMax = Number.NEGATIVE_INFINITY;
  for (const [k, c] of s.chunks.entries()) {
    const where = `${s.labels} chunk ${k} [${c.minTime}, ${c.maxTime}]`;
    expect(c.raw?.type, where).toBe('XOR');
    expect(c.minTime, `${where}: chunks in time order, not overlapping`).toBeGreaterThan(prevMax);
    prevMax = c.maxTime;
    const it = new XorIterator(c.raw?.data as Uint8Array);
    let first: number | undefined;
    let last: number | undefined;
    while (it.next()) {
      first ??= it.t;
      if (last !== undefined) expect(it.t, `${where}: increasing timestamps`).toBeGreaterThan(last);
      last = it.t;
      t.push(it.t);
      v.push(it.v);
    }
    expect({ minTime: first, maxTime: last }, `${where}: bounds are its first and last sample`).toEqual({
      minTime: c.minTime,
      maxTime: c.maxTime,
    });
  }
  return { t, v };
}

/** The fixture's samples of the series with these (served) labels within [mint, maxt]. */
function fixtureSamples(labels: Labels, mint: number, maxt: number): { t: number[]; v: number[] } {
  const own = labels.toRecord();
  const idx = ALL.findIndex((r) => JSON.stringify(r) === JSON.stringify(own));
  const s = F.series[idx];
  if (!s) throw new Error(`store returned a series not in the fixture: ${labels}`);
  const t: number[] = [];
  const v: number[] = [];
  s.timestamps.forEach((ts, i) => {
    if (ts >= mint && ts <= maxt) {
      t.push(ts);
      v.push(s.values[i] as number);
    }
  });
  return { t, v };
}

/** Checks every sample of the fixture in [mint, maxt] came back, exactly, and chunks overlap the range. */
function expectSamples(series: readonly StoreSeries[], mint: number, maxt: number): void {
  for (const s of series) {
    for (const c of s.chunks)
      expect(c.maxTime >= mint && c.minTime <= maxt, `${s.labels}: chunk [${c.minTime}, ${c.maxTime}] overlaps`).toBe(
        true,
      );
    const got = decode(s);
    const keep = got.t.map((t) => t >= mint && t <= maxt);
    const gt = got.t.filter((_, i) => keep[i]);
    const gv = got.v.filter((_, i) => keep[i]);
    const want = fixtureSamples(s.labels, mint, maxt);
    // One assertion per series: expect() per sample is slow, and the first mismatch says enough.
    const bad = want.t.findIndex((t, i) => gt[i] !== t || !Object.is(gv[i], want.v[i]));
    expect(
      {
        length: gt.length,
        firstMismatch: bad < 0 ? undefined : { got: [gt[bad], gv[bad]], want: [want.t[bad], want.v[bad]] },
      },
      `${s.labels} samples in [${mint}, ${maxt}]`,
    ).toEqual({ length: want.t.length, firstMismatch: undefined });
  }
}

/**
 * Registers (with vitest) the StoreAPI contract every data holder in thanos-ts passes, after
 * Thanos's pkg/store/acceptance_test.go: label names and values with and without matchers and
 * time ranges, series selection with every matcher type (empty values, regex anchoring, `.*`
 * matching absent labels), exact samples and time range clipping, external labels on every
 * series and in Info, `skipChunks`, limits, empty answers as values, sorted output, cancellation
 * mid-stream, and bad input rejected as an invalid argument.
 *
 * `setup` runs once for the block and must return a store holding exactly {@link
 * STORE_API_FIXTURE}; the tests only read from it. Call at the top level of a test file.
 */
export function describeStoreAPI(name: string, setup: StoreAPISetup, opts: DescribeStoreAPIOptions = {}): void {
  const caps = { exactLabelTimeRange: true, warnsWhenNoStoreMatches: false, ...opts.capabilities };
  describe(`StoreAPI contract: ${name}`, () => {
    let sut: StoreAPIUnderTest | undefined;
    const store = (): StoreAPI => {
      if (!sut) throw new Error(`setup of ${name} failed; see the beforeAll error`);
      return sut.store;
    };
    beforeAll(async () => {
      sut = await setup(F);
    }, opts.setupTimeoutMs ?? 120_000);
    afterAll(async () => {
      await sut?.close();
    });

    // Answers carry no warning, but for the querier's deliberate one on answers nothing could match.
    const expectNoWarnings = (warnings: readonly string[], empty: boolean): void => {
      if (empty && caps.warnsWhenNoStoreMatches && warnings.length > 0) {
        // The warning may go on to say which stores were filtered out and why.
        expect(warnings.length, warnings.join('; ')).toBe(1);
        expect(warnings[0]?.startsWith(NO_STORES_MATCHED), warnings[0]).toBe(true);
      } else expect(warnings).toEqual([]);
    };

    const full = (matchers: M[], extra: Partial<SeriesRequest> = {}): SeriesRequest => ({
      minTime: F.minTime,
      maxTime: F.maxTime,
      matchers: ms(matchers),
      ...extra,
    });

    it('advertises its external labels and a time range covering its data in Info', async () => {
      const info = await store().info();
      expect(info.labelSets.map((l) => l.toRecord())).toEqual([F.externalLabels]);
      expect(info.minTime).toBeLessThanOrEqual(F.minTime);
      expect(info.maxTime).toBeGreaterThanOrEqual(F.maxTime);
      expect(['query', 'rule', 'sidecar', 'store', 'receive', 'debug']).toContain(info.componentType);
    });

    describe('series selected by matchers, sorted, with external labels', () => {
      it.each(SERIES_CASES)('$name', async ({ matchers, want }) => {
        const got = await collect(store(), full(matchers));
        expectNoWarnings(got.warnings, got.series.length === 0);
        expectSorted(got.series);
        expect(records(got.series)).toEqual(want);
      });
    });

    it('returns every sample of the fixture exactly, in chunks that decode', async () => {
      const got = await collect(store(), full([['=~', '__name__', '.+']]));
      expect(records(got.series)).toEqual(ALL);
      expectSamples(got.series, F.minTime, F.maxTime);
      // The dense series must span several chunks (it has 1801 samples).
      expect(got.series[0]?.chunks.length).toBeGreaterThan(1);
    });

    describe('clips to the requested time range (inclusive at both ends)', () => {
      it.each([
        { name: 'last 15 minutes', mint: T0 + 15 * MINUTE, maxt: F.maxTime, want: [G, K, B, C, A, E] },
        { name: 'first 5 minutes', mint: T0, maxt: T0 + 5 * MINUTE, want: [G, K, B, C, A, D] },
        {
          name: 'the gap between n=2 and n=2.5',
          mint: T0 + 10 * MINUTE + 1,
          maxt: T0 + 20 * MINUTE - 1,
          want: [G, K, B, C, A],
        },
        { name: 'the gap with its edges', mint: T0 + 10 * MINUTE, maxt: T0 + 20 * MINUTE, want: ALL },
        { name: 'one millisecond', mint: T0 + 17 * MINUTE, maxt: T0 + 17 * MINUTE, want: [G, K, B, C, A] },
      ])('$name', async ({ mint, maxt, want }) => {
        const got = await collect(store(), { minTime: mint, maxTime: maxt, matchers: ms([['=~', '__name__', '.+']]) });
        expectSorted(got.series);
        expect(records(got.series)).toEqual(want);
        expectSamples(got.series, mint, maxt);
      });
    });

    describe('answers a range without data with no series, not an error', () => {
      it.each(EMPTY_RANGES)('$name', async ({ start, end }) => {
        const got = await collect(store(), { minTime: start, maxTime: end, matchers: ms([['=~', '__name__', '.+']]) });
        expect(got.series).toEqual([]);
        expectNoWarnings(got.warnings, true);
      });
    });

    it('skipChunks returns labels only, the external label winning over a series label', async () => {
      const got = await collect(store(), full([['=', '__name__', 'kube_pod_info']], { skipChunks: true }));
      expect(records(got.series)).toEqual([K]);
      const all = await collect(store(), full([['=~', '__name__', '.+']], { skipChunks: true }));
      expect(records(all.series)).toEqual(ALL);
      for (const s of all.series) expect(s.chunks, `${s.labels}`).toEqual([]);
    });

    it('limits series to the first `limit` in label order', async () => {
      const got = await collect(store(), full([['=', '__name__', 'up']], { limit: 2 }));
      expect(records(got.series)).toEqual([B, C]);
    });

    it('drops withoutReplicaLabels itself when Info says it does', async () => {
      const info = await store().info();
      const req = full([['=~', 'n', '.+']], { withoutReplicaLabels: ['region'] });
      const got = await collect(store(), req);
      if (info.supportsWithoutReplicaLabels) {
        expectSorted(got.series);
        const strip = (r: Record<string, string>) => {
          const { region: _, ...rest } = r;
          return rest;
        };
        expect(records(got.series)).toEqual([B, C, A, D, E].map(strip));
      } else {
        // Without support the querier strips them; the store must still answer the request.
        expect(records(got.series)).toEqual([B, C, A, D, E]);
      }
    });

    describe('label names, sorted', () => {
      it.each(LABEL_NAMES_CASES)('$name', async ({ matchers, want }) => {
        const got = await store().labelNames({ start: F.minTime, end: F.maxTime, matchers: ms(matchers ?? []) });
        expectNoWarnings(got.warnings, got.names.length === 0);
        expect(got.names).toEqual(want);
      });
      it.each(EMPTY_RANGES)('over a range without data: $name', async ({ start, end }) => {
        const got = await store().labelNames({ start, end });
        if (caps.exactLabelTimeRange) expect(got.names).toEqual([]);
        else for (const n of got.names) expect(ALL_NAMES).toContain(n);
      });
      it('limits names to the first `limit`', async () => {
        const got = await store().labelNames({ start: F.minTime, end: F.maxTime, limit: 3 });
        expect(got.names).toEqual(ALL_NAMES.slice(0, 3));
      });
    });

    describe('label values, sorted', () => {
      it.each(LABEL_VALUES_CASES)('$name', async ({ label, matchers, want }) => {
        const got = await store().labelValues({
          label: label as string,
          start: F.minTime,
          end: F.maxTime,
          matchers: ms(matchers ?? []),
        });
        expectNoWarnings(got.warnings, got.values.length === 0);
        expect(got.values).toEqual(want);
      });
      it.each(EMPTY_RANGES)('over a range without data: $name', async ({ start, end }) => {
        const got = await store().labelValues({ label: 'n', start, end });
        if (caps.exactLabelTimeRange) expect(got.values).toEqual([]);
        else for (const v of got.values) expect(['1', '2', '2.5']).toContain(v);
      });
      it('limits values to the first `limit`', async () => {
        const got = await store().labelValues({ label: 'n', start: F.minTime, end: F.maxTime, limit: 2 });
        expect(got.values).toEqual(['1', '2']);
      });
    });

    describe('rejects bad input as an invalid argument', () => {
      it('series without matchers', async () => {
        const err = await caught(collect(store(), full([])));
        expect(isInvalidArgument(err), String(err)).toBe(true);
        expect(String(err)).toMatch(/no matchers specified/);
      });
      it('label values of an empty label name', async () => {
        const err = await caught(store().labelValues({ label: '', start: F.minTime, end: F.maxTime }));
        expect(isInvalidArgument(err), String(err)).toBe(true);
        expect(String(err)).toMatch(/label name parameter cannot be empty/);
      });
    });

    describe('cancellation', () => {
      it('fails a series call whose signal is already aborted, without data', async () => {
        let got = 0;
        const err = await caught(
          (async () => {
            for await (const m of store().series(full([['=~', '__name__', '.+']]), AbortSignal.abort()))
              if (m.type === 'series') got++;
          })(),
        );
        expect(isAbort(err), String(err)).toBe(true);
        expect(got).toBe(0);
      });

      it('ends the stream when aborted mid-stream, and keeps serving', async () => {
        const ac = new AbortController();
        let got = 0;
        let err: unknown;
        try {
          for await (const m of store().series(full([['=~', '__name__', '.+']]), ac.signal)) {
            if (m.type !== 'series') continue;
            if (++got === 1) ac.abort();
          }
        } catch (e) {
          err = e;
        }
        // Reaching here means the stream ended. Series already on their way may still arrive,
        // but an error must be the cancellation, not something else.
        if (err !== undefined) expect(isAbort(err), String(err)).toBe(true);
        expect(got).toBeLessThanOrEqual(ALL.length);
        const after = await collect(store(), full([['=', 'n', '1']]));
        expect(records(after.series)).toEqual([B, C, A]);
      });

      it('releases what a stream held when the consumer stops early (30 abandoned streams)', async () => {
        // More abandoned streams than any store's concurrency limit (the store gateway admits 20
        // Series calls at once by default): a leaked slot would make the last call hang.
        for (let i = 0; i < 30; i++) {
          for await (const m of store().series(full([['=~', '__name__', '.+']]))) if (m.type === 'series') break;
        }
        const got = await collect(store(), full([['=~', '__name__', '.+']]));
        expect(records(got.series)).toEqual(ALL);
      });
    });
  });
}
