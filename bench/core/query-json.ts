/**
 * JSON encoding of a range answer, as the querier writes it (queryDataJSON) and as the query
 * frontend writes merged pieces (encodeMatrixResponse): a week at a 60 s step (10,080 points) for
 * 40 series of random doubles, 403,200 points, ~13 MB. Prints the median of 7 runs (ms) after 3
 * warm-ups, the bytes included (the HTTP layer sends them as they are). The query API uses the
 * sliced form, which yields to the event loop every 10 ms.
 * Run: npx tsx bench/core/query-json.ts
 */
import { Labels } from '@thanos-ts/tsdb';
import { createTimeSlice } from '../../packages/core/src/concurrency/time-slice.js';
import type { MatrixSeries } from '../../packages/core/src/frontend/matrix.js';
import { encodeMatrixResponse } from '../../packages/core/src/frontend/matrix.js';
import { formatJSONFloat, queryDataJSON, queryDataJSONSliced } from '../../packages/core/src/http/json.js';
import type { EngineValue } from '../../packages/core/src/query/engine.js';

const SERIES = 40;
const POINTS = 10_080;
const start = 1_700_000_040_000;
const series = Array.from({ length: SERIES }, (_, s) => {
  const timestamps = new Float64Array(POINTS);
  const values = new Float64Array(POINTS);
  for (let i = 0; i < POINTS; i++) {
    timestamps[i] = start + i * 60_000;
    values[i] = Math.random() * 100;
  }
  return { metric: Labels.from({ instance: `host-${s}:9100`, job: 'node' }), timestamps, values };
});
const matrix = { type: 'matrix', series } as unknown as EngineValue;
const frontendSeries: MatrixSeries[] = series.map((s) => ({
  metric: s.metric.toRecord(),
  timestamps: Array.from(s.timestamps),
  values: Array.from(s.values, formatJSONFloat),
  histograms: [],
}));

async function median(
  f: () => { length: number } | Promise<{ length: number }>,
): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  for (let i = 0; i < 3; i++) bytes = (await f()).length;
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await f();
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  return { ms: runs[3] as number, bytes };
}

const q = await median(() => queryDataJSON(matrix));
// As the query API writes it: yielding to the event loop every 10 ms.
const sliced = await median(() => queryDataJSONSliced(matrix, undefined, createTimeSlice()));
const f = await median(() => encodeMatrixResponse({ series: frontendSeries, warnings: [], infos: [] }));
console.log(`${SERIES} series × ${POINTS} points; median of 7 (ms)`);
console.log(`querier queryDataJSON: ${q.ms.toFixed(1)} ms, ${(q.bytes / 1e6).toFixed(1)} MB`);
console.log(`querier queryDataJSONSliced (10 ms slices): ${sliced.ms.toFixed(1)} ms`);
console.log(`frontend encodeMatrixResponse: ${f.ms.toFixed(1)} ms, ${(f.bytes / 1e6).toFixed(1)} MB`);
