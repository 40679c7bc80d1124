// A Prometheus 2.42 data dir and a thanos-ts one are interchangeable: each reads what the other
// wrote (WAL and blocks), checked sample by sample and through Prometheus's own query API.

import {
  e2eRequired,
  makeTempDir,
  programAvailable,
  promtool,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { formatGoFloat, formatLabelsGo } from '@thanos-ts/tsdb/goformat';
import { compressSync } from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWriteRequest, type PrompbTimeSeries } from '../../core/src/sidecar/prompb/prompb.js';
import { dumpDB, openDB } from '../src/db/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { Queryable } from '../src/storage/queryable.js';
import { STALE_NAN } from '../src/storage/stale.js';

const have = programAvailable('prometheus');
if (!have && !e2eRequired()) console.warn('SKIPPING db-prometheus tests: prometheus is not installed');
const d = have || e2eRequired() ? describe : describe.skip;

const H = 3600_000;
const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Deterministic values with a mix of shapes: counters that reset, gauges, NaN.
function value(series: number, i: number): number {
  if (series % 7 === 3 && i % 50 === 17) return Number.NaN;
  if (series % 2 === 0) return ((i * (series + 1)) % 400) + series; // counter with resets
  return Math.round(Math.sin(i / 10 + series) * 1e6) / 1e3;
}

/** Prints samples like promtool tsdb dump: one `{labels} value ts` line per sample. */
async function dumpLines(q: Queryable): Promise<string[]> {
  const out: string[] = [];
  for (const s of await q.select([new Matcher('=~', '__name__', '.+')], ALL)) {
    const p = formatLabelsGo(s.labels);
    for (let i = 0; i < s.timestamps.length; i++)
      out.push(`${p} ${formatGoFloat(s.values[i] as number)} ${s.timestamps[i]}`);
  }
  return out;
}

async function remoteWrite(url: string, series: PrompbTimeSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: compressSync(Buffer.from(encodeWriteRequest(series))),
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`remote write: ${res.status} ${await res.text()}`);
}

interface PromVector {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

async function promQuery(p: RunningPrometheus, query: string, timeMs: number): Promise<PromVector[]> {
  const u = new URL(`${p.url}/api/v1/query`);
  u.searchParams.set('query', query);
  u.searchParams.set('time', String(timeMs / 1000));
  const body = (await (await fetch(u)).json()) as { status: string; data: { result: PromVector[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
  return body.data.result;
}

// Prometheus 2.42's extrapolatedRate (promql/functions.go) over the samples in [t - range, t].
function rate(ts: number[], vs: number[], t: number, range: number): number | undefined {
  const idx = ts.map((_, i) => i).filter((i) => (ts[i] as number) >= t - range && (ts[i] as number) <= t);
  if (idx.length < 2) return undefined;
  const first = idx[0] as number;
  const last = idx[idx.length - 1] as number;
  let delta = (vs[last] as number) - (vs[first] as number);
  let prev = vs[first] as number;
  for (const i of idx.slice(1)) {
    if ((vs[i] as number) < prev) delta += prev;
    prev = vs[i] as number;
  }
  const rangeStart = (t - range) / 1000;
  const rangeEnd = t / 1000;
  const sampled = ((ts[last] as number) - (ts[first] as number)) / 1000;
  const avg = sampled / (idx.length - 1);
  let toStart = (ts[first] as number) / 1000 - rangeStart;
  const toEnd = rangeEnd - (ts[last] as number) / 1000;
  if (delta > 0 && (vs[first] as number) >= 0) {
    const toZero = sampled * ((vs[first] as number) / delta);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = avg * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : avg / 2;
  interval += toEnd < threshold ? toEnd : avg / 2;
  return (delta * interval) / sampled / (range / 1000);
}

d('Prometheus 2.42 data dir interchange', () => {
  it('reads the WAL of a Prometheus fed by remote write and SIGKILLed: exactly the samples written', async () => {
    const dir = await makeTempDir('prom-wal-');
    cleanups.push(() => removeTempDir(dir));
    const prom = await startPrometheus({ dataDir: dir });
    cleanups.push(() => prom.stop());
    const start = Math.floor(Date.now() / 1000) * 1000 - 40 * 60_000;
    const want: string[] = [];
    const nSeries = 60;
    const nSamples = 150;
    const step = 15_000;
    // Send in chunks of 30 samples per series, in time order, like a remote-write queue would.
    for (let from = 0; from < nSamples; from += 30) {
      const batch: PrompbTimeSeries[] = [];
      for (let s = 0; s < nSeries; s++) {
        const labels = [
          { name: '__name__', value: `rw_metric_${s % 3}` },
          { name: 'instance', value: `host-${s}` },
          { name: 'job', value: s % 2 === 0 ? 'api' : 'db "x"' },
        ];
        const samples = [];
        for (let i = from; i < Math.min(nSamples, from + 30); i++) {
          // The last sample of some series is a staleness marker, as a scraper writes on target loss.
          const v = s % 10 === 0 && i === nSamples - 1 ? STALE_NAN : value(s, i);
          samples.push({ timestamp: start + i * step, value: v });
        }
        batch.push({ labels, samples });
      }
      await remoteWrite(prom.url, batch);
    }
    for (let s = 0; s < nSeries; s++) {
      const l = Labels.from({
        __name__: `rw_metric_${s % 3}`,
        instance: `host-${s}`,
        job: s % 2 === 0 ? 'api' : 'db "x"',
      });
      for (let i = 0; i < nSamples; i++) {
        const v = s % 10 === 0 && i === nSamples - 1 ? STALE_NAN : value(s, i);
        want.push(`${formatLabelsGo(l)} ${formatGoFloat(v)} ${start + i * step}`);
      }
    }
    process.kill(prom.pid, 'SIGKILL');
    await prom.stop();
    // Read-only first: our dump of the dir equals promtool's (both replay the WAL, change nothing).
    let ourDump = '';
    await dumpDB(dir, (t) => {
      ourDump += t;
    });
    expect(ourDump.split('\n').length).toBe(want.length + 1);
    if (programAvailable('promtool')) expect(ourDump).toBe(await promtool.dump(dir));
    await using db = await openDB({ dir, retentionMs: 0 });
    const got = await dumpLines(db.queryable());
    // Label order of dump lines equals sorted label sets; samples within a series by time.
    const key = (line: string) => line;
    expect(got.length).toBe(want.length);
    expect([...got].sort()).toEqual([...want].map(key).sort());
    expect(db.walReplay.corruption).toBeUndefined();
    // Stale markers survive as the exact bit pattern.
    const stale = await db.queryable().select([new Matcher('=', 'instance', 'host-0')], ALL);
    const cell = new Float64Array(1);
    const vals = stale[0]?.values ?? new Float64Array(nSamples);
    cell.set(vals.subarray(nSamples - 1, nSamples));
    const bits = new DataView(cell.buffer);
    expect([bits.getUint32(4, true).toString(16), bits.getUint32(0, true)]).toEqual(['7ff00000', 2]);
  });

  it('Prometheus answers queries over a dir our DB wrote (WAL + a block from compactHead) as our data says', async () => {
    const dir = await makeTempDir('our-db-');
    cleanups.push(() => removeTempDir(dir));
    const end = Math.floor(Date.now() / 60_000) * 60_000;
    const start = end - 5 * H;
    const step = 30_000;
    const nSeries = 40;
    const db = await openDB({ dir, retentionMs: 0 });
    const truth = new Map<string, { labels: Labels; ts: number[]; vs: number[] }>();
    for (let t = start, i = 0; t <= end; t += step, i++) {
      const app = db.appender();
      for (let s = 0; s < nSeries; s++) {
        const labels = Labels.from({
          __name__: s % 2 === 0 ? 'our_counter_total' : 'our_gauge',
          s: String(s),
          zone: `z${s % 4}`,
        });
        const v = s % 2 === 0 ? Math.abs(value(s, i)) : value(s, i);
        app.append(labels, t, v);
        const k = labels.key();
        const e = truth.get(k) ?? { labels, ts: [], vs: [] };
        e.ts.push(t);
        e.vs.push(v);
        truth.set(k, e);
      }
      await app.commit();
    }
    const res = await db.compactHead();
    expect(res.blocks.length).toBeGreaterThan(0);
    const ours = await dumpLines(db.queryable());
    await db.close();

    // promtool reads the same dir (blocks + WAL) back identically.
    if (programAvailable('promtool')) expect((await promtool.dump(dir)).trimEnd().split('\n')).toEqual(ours);

    const prom = await startPrometheus({ dataDir: dir });
    cleanups.push(() => prom.stop());
    const series = [...truth.values()];
    const evalTimes = [start + 30 * 60_000, start + 2 * H + 7_000, end - 10 * 60_000, end];
    for (const t of evalTimes) {
      const at = (e: { ts: number[]; vs: number[] }) => {
        // Instant selection with the 5m lookback: the newest sample at or before t.
        let j = -1;
        for (let i = 0; i < e.ts.length; i++) if ((e.ts[i] as number) <= t && (e.ts[i] as number) > t - 300_000) j = i;
        return j < 0 ? undefined : (e.vs[j] as number);
      };
      const gauges = series.filter((e) => e.labels.get('__name__') === 'our_gauge');
      const counters = series.filter((e) => e.labels.get('__name__') === 'our_counter_total');
      const [count] = await promQuery(prom, 'count(our_gauge)', t);
      expect(Number(count?.value?.[1])).toBe(gauges.filter((e) => at(e) !== undefined).length);
      const byZone = await promQuery(prom, 'sum by (zone) (our_gauge)', t);
      for (const r of byZone) {
        const want = gauges
          .filter((e) => e.labels.get('zone') === r.metric.zone)
          .reduce((acc, e) => acc + (at(e) ?? 0), 0);
        if (Number.isNaN(want)) expect(r.value?.[1]).toBe('NaN');
        else expect(Number(r.value?.[1])).toBeCloseTo(want, 6);
      }
      const counts = await promQuery(prom, 'count_over_time(our_counter_total[1h])', t);
      expect(counts).toHaveLength(counters.length);
      for (const r of counts) {
        const e = truth.get(Labels.from(r.metric).with('__name__', 'our_counter_total').key());
        // 2.x range selectors are closed: [t - 1h, t].
        expect(Number(r.value?.[1])).toBe(e?.ts.filter((x) => x >= t - H && x <= t).length);
      }
      const rates = await promQuery(prom, 'rate(our_counter_total[5m])', t);
      for (const r of rates) {
        const e = truth.get(Labels.from(r.metric).with('__name__', 'our_counter_total').key());
        const want = rate(e?.ts ?? [], e?.vs ?? [], t, 300_000);
        expect(want).toBeDefined();
        expect(Number(r.value?.[1])).toBeCloseTo(want as number, 9);
      }
      expect(rates).toHaveLength(counters.length);
    }
    // Raw samples: a range selector over everything returns exactly what we wrote.
    const raw = await promQuery(prom, 'our_gauge{s="1"}[6h]', end);
    const e1 = series.find((e) => e.labels.get('s') === '1');
    expect(raw[0]?.values?.map(([ts]) => Math.round(ts * 1000))).toEqual(e1?.ts);
  });
});
