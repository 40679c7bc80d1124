// Our WAL against Prometheus 2.42's, both ways: we read the WAL a killed Prometheus left behind,
// and Prometheus replays a WAL we wrote.
import { join } from 'node:path';
import {
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Labels } from '../src/labels/labels.js';
import { decodeRecord, encodeSamplesRecord, encodeSeriesRecord, openWAL, readWAL } from '../src/wal/index.js';
import { type PushSeries, remoteWrite } from './remote-write.js';

const SERIES = 300;
const SAMPLES_PER_SERIES = 12;
const STEP_MS = 15_000;

/** 300 series over 3 metric names, 12 samples each, ending a minute ago. */
function pushData(now: number): PushSeries[] {
  const start = Math.floor((now - 30 * 60_000) / 1000) * 1000;
  return Array.from({ length: SERIES }, (_, i) => ({
    labels: [
      ['__name__', `wal_e2e_metric_${i % 3}`],
      ['instance', `host-${i}:9100`],
      ['job', i % 2 === 0 ? 'node' : 'app'],
    ] as const,
    samples: Array.from({ length: SAMPLES_PER_SERIES }, (_, k) => ({
      t: start + k * STEP_MS + (i % 7),
      v: k === 5 && i % 10 === 0 ? -1.25e-9 : i * 1000 + k + (i % 4) * 0.5,
    })),
  }));
}

function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function instantQuery(url: string, query: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${Date.now() / 1000}`);
  const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
  expect(body.status).toBe('success');
  expect(body.data.result).toHaveLength(1);
  return Number(body.data.result[0]?.value[1]);
}

describe.skipIf(!programAvailable('prometheus'))('WAL against Prometheus 2.42', () => {
  let prom: RunningPrometheus | undefined;
  let tmp: string | undefined;
  afterEach(async () => {
    await prom?.stop();
    prom = undefined;
    if (tmp !== undefined) await removeTempDir(tmp);
    tmp = undefined;
  });

  it('reads exactly the remote-written samples back from a SIGKILLed Prometheus WAL', async () => {
    prom = await startPrometheus();
    const data = pushData(Date.now());
    // Several requests, so the WAL holds several series and samples records.
    for (let i = 0; i < data.length; i += 50) await remoteWrite(prom.url, data.slice(i, i + 50));
    process.kill(prom.pid, 'SIGKILL');
    await prom.process.stop();

    const labelsByRef = new Map<number, string>();
    const got: string[] = [];
    let records = 0;
    for await (const { record } of readWAL(join(prom.dataDir, 'wal'))) {
      records++;
      const rec = decodeRecord(record);
      if (rec.type === 'series') {
        for (const s of rec.series) labelsByRef.set(s.ref, key(s.labels.toRecord()));
      } else if (rec.type === 'samples') {
        for (const s of rec.samples) {
          const k = labelsByRef.get(s.ref);
          expect(k, `sample for ref ${s.ref} before its series record`).toBeDefined();
          got.push(`${k} ${s.t} ${s.v}`);
        }
      }
    }
    expect(records).toBeGreaterThanOrEqual(12);
    expect(labelsByRef.size).toBe(SERIES);
    const want = data.flatMap((s) => {
      const k = key(Object.fromEntries(s.labels));
      return s.samples.map((p) => `${k} ${p.t} ${p.v}`);
    });
    expect(got.sort()).toEqual(want.sort());
  });

  it.each([
    { name: 'compressed', compress: true },
    { name: 'uncompressed', compress: false },
  ])('Prometheus replays a WAL we wrote ($name)', async ({ compress }) => {
    tmp = await makeTempDir('wal-prom-');
    const dataDir = join(tmp, 'data');
    const data = pushData(Date.now());
    // Small segments, so replay crosses segment boundaries too.
    const w = await openWAL({ dir: join(dataDir, 'wal'), compress, segmentSizeBytes: 32 * 1024 });
    for (let i = 0; i < data.length; i += 40) {
      const batch = data.slice(i, i + 40);
      await w.log([
        encodeSeriesRecord(batch.map((s, j) => ({ ref: i + j + 1, labels: Labels.from(s.labels) }))),
        encodeSamplesRecord(
          batch.flatMap((s, j) => s.samples.slice(0, 6).map((p) => ({ ref: i + j + 1, t: p.t, v: p.v }))),
        ),
      ]);
    }
    // Later samples in records of their own, as a head appends them after the series exist.
    for (let k = 6; k < SAMPLES_PER_SERIES; k++) {
      await w.log([
        encodeSamplesRecord(data.map((s, j) => ({ ref: j + 1, t: s.samples[k]?.t ?? 0, v: s.samples[k]?.v ?? 0 }))),
      ]);
    }
    await w.close();
    expect((await w.segmentRange()).last).toBeGreaterThan(0);

    prom = await startPrometheus({ dataDir });
    const all = data.flatMap((s) => s.samples);
    expect(await instantQuery(prom.url, 'count(last_over_time({__name__=~"wal_e2e_metric_.*"}[1h]))')).toBe(SERIES);
    expect(await instantQuery(prom.url, 'sum(count_over_time({__name__=~"wal_e2e_metric_.*"}[1h]))')).toBe(all.length);
    const wantSum = all.reduce((a, p) => a + p.v, 0);
    expect(await instantQuery(prom.url, 'sum(sum_over_time({__name__=~"wal_e2e_metric_.*"}[1h]))')).toBeCloseTo(
      wantSum,
      3,
    );
    const wantLastNode = data
      .filter((s) => s.labels[2]?.[1] === 'node' && s.labels[0]?.[1] === 'wal_e2e_metric_1')
      .reduce((a, s) => a + (s.samples[SAMPLES_PER_SERIES - 1]?.v ?? 0), 0);
    expect(await instantQuery(prom.url, 'sum(last_over_time(wal_e2e_metric_1{job="node"}[1h]))')).toBe(wantLastNode);
  });
});
