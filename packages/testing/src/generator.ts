import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** Knobs of the synthetic data; every field has a default, and equal options give equal data. */
export interface GeneratorOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** Metric families (default 12): kinds rotate counter, gauge, classic histogram. */
  metrics?: number;
  /** Label sets per family (default 10); every fifth family has 4× as many (high cardinality). */
  seriesPerMetric?: number;
  /** First scrape, ms since the epoch (default 1_700_000_000_000). */
  startMs?: number;
  /** Length of the data (default 2h). */
  durationMs?: number;
  /** Nominal scrape interval (default 15s). */
  scrapeIntervalMs?: number;
  /** Each scrape lands up to ±jitterMs off its nominal time (default 0: regular). */
  jitterMs?: number;
  /** Share of series that start late or end early (default 0.1). */
  churn?: number;
  /** Share of series with one stretch of missing scrapes longer than the lookback (default 0.1). */
  gapProbability?: number;
  /** Put NaN, ±Inf, and very large and very small values into some gauges (default true). */
  specialValues?: boolean;
  /** Upper bounds of histogram buckets, +Inf added (default 0.005 … 10). */
  histogramBuckets?: number[];
}

/** One generated series: labels (with __name__) and its samples in time order. */
export interface GeneratedSeries {
  labels: Record<string, string>;
  /** ms since the epoch, strictly increasing; exactly what promtool stores for this input */
  timestamps: number[];
  values: number[];
}

type Kind = 'counter' | 'gauge' | 'histogram';

/** One OpenMetrics metric family and its series. */
export interface GeneratedFamily {
  name: string;
  kind: Kind;
  series: GeneratedSeries[];
}

/** Deterministic PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 10];

/**
 * Generates realistic metric families: counters with resets, gauges (with special values),
 * classic histograms, churn, gaps and irregular timestamps.
 */
export function generateFamilies(opts: GeneratorOptions = {}): GeneratedFamily[] {
  const rand = createRandom(opts.seed ?? 1);
  const metrics = opts.metrics ?? 12;
  const perMetric = opts.seriesPerMetric ?? 10;
  const start = opts.startMs ?? 1_700_000_000_000;
  const duration = opts.durationMs ?? 2 * 3600_000;
  const interval = opts.scrapeIntervalMs ?? 15_000;
  const jitter = opts.jitterMs ?? 0;
  const churn = opts.churn ?? 0.1;
  const gapProbability = opts.gapProbability ?? 0.1;
  const special = opts.specialValues ?? true;
  const buckets = opts.histogramBuckets ?? DEFAULT_BUCKETS;
  const scrapes = Math.max(1, Math.floor(duration / interval));

  const families: GeneratedFamily[] = [];
  for (let m = 0; m < metrics; m++) {
    const kind: Kind = (['counter', 'gauge', 'histogram'] as const)[m % 3] as Kind;
    const name = `gen_${kind}_${m}`;
    const cardinality = m % 5 === 4 ? perMetric * 4 : perMetric;
    const family: GeneratedFamily = { name, kind, series: [] };
    for (let s = 0; s < cardinality; s++) {
      const base: Record<string, string> = {
        instance: `host-${s % 50}:9100`,
        job: `job-${m % 4}`,
        shard: String(s),
      };
      if (m === 1 && s === 0) base.note = 'quote " backslash \\ done';
      const times = scrapeTimes(rand, start, interval, scrapes, jitter, churn, gapProbability);
      if (kind === 'counter') {
        family.series.push({
          labels: { __name__: `${name}_total`, ...base },
          timestamps: times,
          values: counterValues(rand, times.length),
        });
      } else if (kind === 'gauge') {
        const withSpecial = special && s % 7 === 3;
        family.series.push({
          labels: { __name__: name, ...base },
          timestamps: times,
          values: gaugeValues(rand, times.length, withSpecial),
        });
      } else {
        family.series.push(...histogramSeries(rand, name, base, times, buckets));
      }
    }
    families.push(family);
  }
  return families;
}

/** Every generated series, flattened (histograms give one series per bucket plus _sum and _count). */
export function generateSeries(opts: GeneratorOptions = {}): GeneratedSeries[] {
  return generateFamilies(opts).flatMap((f) => f.series);
}

function scrapeTimes(
  rand: () => number,
  start: number,
  interval: number,
  scrapes: number,
  jitter: number,
  churn: number,
  gapProbability: number,
): number[] {
  let first = 0;
  let last = scrapes;
  if (rand() < churn) {
    if (rand() < 0.5) first = Math.floor(rand() * scrapes * 0.7);
    else last = Math.max(first + 1, Math.floor(scrapes * (0.3 + rand() * 0.6)));
  }
  let gapFrom = -1;
  let gapTo = -1;
  if (rand() < gapProbability && last - first > 80) {
    gapFrom = first + 10 + Math.floor(rand() * (last - first - 60));
    gapTo = gapFrom + 25 + Math.floor(rand() * 20); // > 5m at 15s: the series goes stale
  }
  const out: number[] = [];
  let previous = -Infinity;
  for (let i = first; i < last; i++) {
    if (i >= gapFrom && i < gapTo) continue;
    const nominal = start + i * interval;
    const shifted = jitter > 0 ? nominal + Math.round((rand() * 2 - 1) * jitter) : nominal;
    // promtool reads the text timestamp in seconds and keeps int64(seconds*1000): mirror it.
    const stored = Math.trunc(Number(formatTimestamp(shifted)) * 1000);
    if (stored > previous) {
      out.push(stored);
      previous = stored;
    }
  }
  return out;
}

function counterValues(rand: () => number, n: number): number[] {
  const out = new Array<number>(n);
  let v = Math.floor(rand() * 1000);
  const rate = 0.1 + rand() * 50;
  for (let i = 0; i < n; i++) {
    if (rand() < 0.003)
      v = Math.floor(rand() * 10); // counter reset
    else v += Math.round(rate * (0.5 + rand()) * 1000) / 1000;
    out[i] = v;
  }
  return out;
}

function gaugeValues(rand: () => number, n: number, withSpecial: boolean): number[] {
  const out = new Array<number>(n);
  const amplitude = 10 ** Math.floor(rand() * 6);
  const phase = rand() * Math.PI;
  const specials = [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1.7e308,
    4.9e-324,
    -2.2e-308,
    1e300,
  ];
  for (let i = 0; i < n; i++) {
    if (withSpecial && i % 37 === 5) out[i] = specials[((i / 37) % specials.length) | 0] as number;
    else out[i] = Math.round((amplitude * Math.sin(phase + i / 20) + amplitude * 0.1 * rand()) * 1e4) / 1e4;
  }
  return out;
}

function histogramSeries(
  rand: () => number,
  name: string,
  base: Record<string, string>,
  times: number[],
  bounds: number[],
): GeneratedSeries[] {
  const les = [...bounds.map((b) => String(b)), '+Inf'];
  const counts = les.map(() => new Array<number>(times.length));
  const sums = new Array<number>(times.length);
  const cumulative = les.map(() => 0);
  let sum = 0;
  for (let i = 0; i < times.length; i++) {
    if (rand() < 0.003) {
      cumulative.fill(0);
      sum = 0;
    }
    const observations = Math.floor(rand() * 20);
    for (let o = 0; o < observations; o++) {
      const value = -Math.log(1 - rand()) * 0.3;
      sum += value;
      for (let b = 0; b < les.length; b++)
        if (b === les.length - 1 || value <= (bounds[b] as number)) cumulative[b]! += 1;
    }
    for (let b = 0; b < les.length; b++) (counts[b] as number[])[i] = cumulative[b] as number;
    sums[i] = Math.round(sum * 1e6) / 1e6;
  }
  const series: GeneratedSeries[] = les.map((le, b) => ({
    labels: { __name__: `${name}_bucket`, ...base, le },
    timestamps: times,
    values: counts[b] as number[],
  }));
  series.push({ labels: { __name__: `${name}_sum`, ...base }, timestamps: times, values: sums });
  series.push({
    labels: { __name__: `${name}_count`, ...base },
    timestamps: times,
    values: [...(counts[les.length - 1] as number[])],
  });
  return series;
}

/** A timestamp as OpenMetrics seconds with millisecond decimals. */
export function formatTimestamp(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** A sample value as OpenMetrics text (Go's ParseFloat reads JS's shortest form exactly). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function* familyLines(family: GeneratedFamily): Generator<string> {
  yield `# HELP ${family.name} Generated ${family.kind} for tests.\n`;
  yield `# TYPE ${family.name} ${family.kind}\n`;
  for (const s of family.series) {
    const { __name__, ...rest } = s.labels;
    const labelText = Object.entries(rest)
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
    const prefix = `${__name__}{${labelText}} `;
    const lines: string[] = [];
    for (let i = 0; i < s.timestamps.length; i++) {
      lines.push(`${prefix}${formatValue(s.values[i] as number)} ${formatTimestamp(s.timestamps[i] as number)}\n`);
    }
    yield lines.join('');
  }
}

/** The data as one OpenMetrics text (ends with `# EOF`). Prefer writeOpenMetrics for big sizes. */
export function generateOpenMetrics(opts: GeneratorOptions = {}): string {
  const parts: string[] = [];
  for (const family of generateFamilies(opts)) for (const line of familyLines(family)) parts.push(line);
  parts.push('# EOF\n');
  return parts.join('');
}

/** Streams the data as OpenMetrics into `file`; returns counts and the series written. */
export async function writeOpenMetrics(
  file: string,
  opts: GeneratorOptions = {},
): Promise<{ series: number; samples: number; data: GeneratedSeries[] }> {
  const out = createWriteStream(file);
  const families = generateFamilies(opts);
  let samples = 0;
  for (const family of families) {
    for (const s of family.series) samples += s.timestamps.length;
    for (const chunk of familyLines(family)) if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end('# EOF\n');
  await once(out, 'finish');
  const data = families.flatMap((f) => f.series);
  return { series: data.length, samples, data };
}
