import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, programAvailable, removeTempDir } from '@thanos-ts/testing';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './browser.js';

const here = dirname(fileURLToPath(import.meta.url));

interface GraphBenchResult {
  series: number;
  points: number;
  responseMB: number;
  parseMs: number;
  alignMs: number;
  drawMs: number;
  paintedMs: number;
  raster: boolean;
  parseLongestBlockMs: number;
}

// A measurement, not a timed assertion: the figures are printed (and recorded in docs/ui.md); the
// test checks that the page drew every series and still answers afterwards.
describe.skipIf(!programAvailable('chromium'))('graph render of a huge range answer', () => {
  it('draws 10,000 series × 1,000 points and stays responsive', { timeout: 300_000 }, async () => {
    const dir = await makeTempDir('ui-graph-bench-');
    // --expose-gc: the bench page collects the garbage of building the answer before timing its parse.
    const browser = await launchChromium(join(dir, 'profile'), ['--js-flags=--expose-gc']);
    try {
      await build({
        entryPoints: [join(here, '../web/bench/graph-bench.ts')],
        bundle: true,
        format: 'iife',
        outfile: join(dir, 'bench.js'),
        logLevel: 'warning',
      });
      const page = await browser.newPage();
      await page.setContent('<div id="graph" style="width:1200px"></div>');
      await page.addStyleTag({ content: await readFile(join(dir, 'bench.css'), 'utf8') });
      await page.addScriptTag({ content: await readFile(join(dir, 'bench.js'), 'utf8') });
      const run = (series: number, points: number) =>
        page.evaluate(
          ([s, p]) =>
            (globalThis as unknown as { benchGraph: (s: number, p: number) => Promise<GraphBenchResult> }).benchGraph(
              s as number,
              p as number,
            ),
          [series, points],
        );
      await run(1000, 100); // warm-up: JIT and fonts
      const r = await run(10_000, 1_000);
      console.log(
        `graph render ${r.series} series × ${r.points} points (${r.responseMB.toFixed(0)} MB of JSON): ` +
          `parse ${r.parseMs.toFixed(0)} ms + align ${r.alignMs.toFixed(0)} ms (page blocked at most ${r.parseLongestBlockMs.toFixed(0)} ms at a time), draw ${r.drawMs.toFixed(0)} ms, painted after ${r.paintedMs.toFixed(0)} ms ` +
          `(load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores)`,
      );
      expect(r.raster).toBe(true);
      expect(await page.locator('.graph-legend-item').count()).toBe(500);
      expect(await page.locator('.graph-legend').textContent()).toContain('… and 9500 more series');
      // Responsive: a hover over the plot answers with a tooltip.
      const over = page.locator('.u-over');
      const box = await over.boundingBox();
      if (!box) throw new Error('no plot area');
      const t0 = Date.now();
      await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2);
      await page.locator('.graph-tooltip').waitFor({ state: 'visible' });
      console.log(`first hover tooltip after ${Date.now() - t0} ms`);
      expect(await page.locator('.graph-tooltip').textContent()).toMatch(/bench_series\{instance="host-\d+"/);
      await screenshot(page, dir, 'graph-10k-series.png', false);
    } finally {
      await browser.close();
      await removeTempDir(dir);
    }
  });
});
