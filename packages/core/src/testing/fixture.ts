/** One series of the StoreAPI contract fixture: labels and samples in time order. */
export interface FixtureSeries {
  /** The series' own labels, without external labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Sample timestamps, ms, strictly increasing. */
  readonly timestamps: readonly number[];
  /** Sample values, one per timestamp. */
  readonly values: readonly number[];
}

/**
 * The data every StoreAPI under {@link describeStoreAPI} must hold, exactly: these series with
 * these samples, and `externalLabels` on every series and in Info.
 */
export interface StoreAPIFixture {
  /** Series sorted by labels (as a block writer wants them). */
  readonly series: readonly FixtureSeries[];
  /** External labels of the store (Prometheus `external_labels`, block `thanos.labels`). */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** First sample timestamp of the fixture, ms. */
  readonly minTime: number;
  /** Last sample timestamp of the fixture, ms (inclusive). */
  readonly maxTime: number;
}

const MINUTE = 60_000;
/**
 * Fixed, so answers are the same on every run. 10 minutes past a 2h boundary, and all data within
 * 30 minutes: a Prometheus head takes it through remote write in one request (its appendable
 * window is an hour behind the first sample), and no 2h chunk or block boundary splits it.
 */
const T0 = 1_700_006_400_000 + 10 * MINUTE;

// Samples every `stepMs` from `from` to `to` (inclusive), the i-th valued `value(i)`.
function series(
  labels: Record<string, string>,
  from: number,
  to: number,
  stepMs: number,
  value: (i: number) => number,
): FixtureSeries {
  const timestamps: number[] = [];
  const values: number[] = [];
  for (let t = from; t <= to; t += stepMs) {
    values.push(value(timestamps.length));
    timestamps.push(t);
  }
  return { labels, timestamps, values };
}

/**
 * The fixture {@link describeStoreAPI} loads into every store: Prometheus's matcher test series
 * (`n`, `i`) from Thanos's acceptance test, one series carrying a label named like an external
 * label, one dense series spanning several chunks, and two series covering only the start or the
 * end of the range (for time range clipping). Labels sorted, as written to a block.
 */
export const STORE_API_FIXTURE: StoreAPIFixture = {
  externalLabels: { region: 'eu-west' },
  minTime: T0,
  maxTime: T0 + 30 * MINUTE,
  series: [
    // Dense: one sample a second, 1801 samples, several XOR chunks whichever way they are cut.
    series(
      { __name__: 'http_requests_total', code: '200', handler: '/api/v1/query' },
      T0,
      T0 + 30 * MINUTE,
      1000,
      (i) => i * 3,
    ),
    // Its own `region` label is hidden by the external label of the same name.
    series({ __name__: 'kube_pod_info', pod: 'pod-1', region: 'somewhere' }, T0, T0 + 30 * MINUTE, 15_000, () => 1),
    series({ __name__: 'up', i: 'a', job: 'api', n: '1' }, T0, T0 + 30 * MINUTE, 15_000, (i) => i % 2),
    series({ __name__: 'up', i: 'b', job: 'api', n: '1' }, T0, T0 + 30 * MINUTE, 15_000, (i) => -1.5 * i),
    series({ __name__: 'up', job: 'api', n: '1' }, T0, T0 + 30 * MINUTE, 15_000, (i) => 1e300 / (i + 1)),
    // Only the first 10 minutes.
    series({ __name__: 'up', job: 'db', n: '2' }, T0, T0 + 10 * MINUTE, 15_000, (i) => 0.1 * i),
    // Only the last 10 minutes.
    series({ __name__: 'up', job: 'db', n: '2.5' }, T0 + 20 * MINUTE, T0 + 30 * MINUTE, 15_000, (i) => 42 + i),
  ],
};
