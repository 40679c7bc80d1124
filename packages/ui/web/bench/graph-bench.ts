// Entry for the graph render measurement (test/graph-render.test.ts bundles it with esbuild): a
// Prometheus matrix answer of `series` × `points` built as the API would send it (JSON text), then
// parsed and drawn by the query page's own renderGraph, timed until the browser has painted.
import '../styles.css';
import { renderGraph } from '../query/graph.ts';
import { parseRangeAnswerOnGridAsync } from '../query/matrix.ts';

/** Timings of one measured render, ms. */
export interface GraphBenchResult {
  series: number;
  points: number;
  responseMB: number;
  parseMs: number;
  /** Alignment after the parse: ~0 now that the parse reads onto the step grid. */
  alignMs: number;
  /** The one blocking step: uPlot's setup and the raster pass. */
  drawMs: number;
  paintedMs: number;
  raster: boolean;
  parseLongestBlockMs: number;
}

async function benchGraph(series: number, points: number): Promise<GraphBenchResult> {
  const startS = 1_700_000_000;
  const stepS = 15;
  const parts: string[] = [];
  for (let s = 0; s < series; s++) {
    const values: string[] = new Array(points);
    for (let i = 0; i < points; i++)
      values[i] = `[${startS + i * stepS},"${(Math.sin(i / 40 + s) * 50 + (s % 100)).toFixed(3)}"]`;
    parts.push(
      `{"metric":{"__name__":"bench_series","instance":"host-${s}","job":"job-${s % 10}"},"values":[${values.join(',')}]}`,
    );
  }
  // Through bytes and back, as fetch's text() delivers a body: one flat sequential string, not the
  // rope of joined pieces (whose every character read would walk the rope).
  const text = new TextDecoder().decode(
    new TextEncoder().encode(`{"status":"success","data":{"resultType":"matrix","result":[${parts.join(',')}]}}`),
  );
  parts.length = 0;
  // Building the text left about a gigabyte of garbage; a fetched answer would not.
  (globalThis as { gc?: () => void }).gc?.();
  const container = document.getElementById('graph') as HTMLElement;
  const t0 = performance.now();
  // The longest the page went without running a task while parsing and aligning (a 5 ms
  // interval's largest gap).
  let last = performance.now();
  let longestGapMs = 0;
  const probe = setInterval(() => {
    const t = performance.now();
    longestGapMs = Math.max(longestGapMs, t - last);
    last = t;
  }, 5);
  // As the query page does: read straight onto the step grid (parse and alignment in one pass).
  const range = { startS, endS: startS + (points - 1) * stepS, stepS };
  const answer = await parseRangeAnswerOnGridAsync(text, range);
  const t1 = performance.now();
  const aligned = answer.aligned;
  clearInterval(probe);
  const t2 = performance.now();
  const g = renderGraph(container, { series: answer.series, ...range, aligned }, { stacked: false });
  const t3 = performance.now();
  // Two frames: uPlot commits its draw in a microtask; the second frame is after the paint.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const t4 = performance.now();
  return {
    series,
    points,
    responseMB: text.length / 1e6,
    parseMs: t1 - t0,
    alignMs: t2 - t1,
    drawMs: t3 - t2,
    paintedMs: t4 - t0,
    raster: g.raster,
    parseLongestBlockMs: longestGapMs,
  };
}

(globalThis as unknown as { benchGraph: typeof benchGraph }).benchGraph = benchGraph;
