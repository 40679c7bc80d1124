/**
 * Graph render of a 10,000-series × 1,000-point range answer in headless Chromium (issue 20
 * target: painted under 2 s). The page (packages/ui/web/bench/graph-bench.ts, bundled here with
 * esbuild) builds the JSON answer as the API would send it, then parses, aligns and draws it with
 * the query page's own code; each run is timed from the start of the parse to the paint after
 * the draw. One warm-up, then --runs runs in the same page; medians and ranges.
 *
 *   npx tsx bench/ui-graph.ts [--runs=5] [--series=10000] [--points=1000] [--web=<dir>]
 *
 * --web names another copy of packages/ui/web (e.g. an older commit's, from `git archive`) to
 * compare against.
 *
 * Needs chromium (apt-get install chromium).
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { build } from 'esbuild';
import { launchChromium } from '../packages/ui/test/browser.js';
import { numberArg } from './args.js';

const RUNS = numberArg('runs', 5);
const SERIES = numberArg('series', 10_000);
const POINTS = numberArg('points', 1_000);
const WEB =
  process.argv.find((x) => x.startsWith('--web='))?.slice('--web='.length) ??
  join(import.meta.dirname, '../packages/ui/web');

interface Result {
  parseMs: number;
  alignMs: number;
  drawMs: number;
  paintedMs: number;
  parseLongestBlockMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const dir = await makeTempDir('ui-graph-bench-');
const browser = await launchChromium(join(dir, 'profile'), ['--js-flags=--expose-gc']);
const results: Result[] = [];
try {
  await build({
    entryPoints: [join(WEB, 'bench/graph-bench.ts')],
    nodePaths: [join(import.meta.dirname, '../node_modules')],
    bundle: true,
    format: 'iife',
    outfile: join(dir, 'bench.js'),
    logLevel: 'warning',
  });
  const page = await browser.newPage();
  await page.setContent('<div id="graph" style="width:1200px"></div>');
  await page.addStyleTag({ content: await readFile(join(dir, 'bench.css'), 'utf8') });
  await page.addScriptTag({ content: await readFile(join(dir, 'bench.js'), 'utf8') });
  const run = (s: number, p: number) => page.evaluate(`benchGraph(${s}, ${p})`) as Promise<Result>;
  await run(1000, 100);
  for (let i = 0; i < RUNS; i++) {
    const r = await run(SERIES, POINTS);
    results.push(r);
    console.log(
      `run ${i + 1}: parse ${r.parseMs.toFixed(0)} ms + align ${r.alignMs.toFixed(0)} ms, draw ${r.drawMs.toFixed(0)} ms, ` +
        `painted after ${r.paintedMs.toFixed(0)} ms (longest block ${r.parseLongestBlockMs.toFixed(0)} ms; load ${loadavg()[0]?.toFixed(1)})`,
    );
  }
} finally {
  await browser.close();
  await removeTempDir(dir);
}
const f = (k: keyof Result) => {
  const xs = results.map((r) => r[k]);
  return `${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
};
console.log(
  `graph ${SERIES} × ${POINTS}, ${results.length} runs, medians: painted ${f('paintedMs')}; parse ${f('parseMs')}, align ${f('alignMs')}, draw ${f('drawMs')}`,
);
