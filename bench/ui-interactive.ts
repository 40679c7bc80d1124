/**
 * Query page time to interactive on the quick start (issue 20 target: under 1 s). Each run opens
 * /graph in a fresh headless Chromium profile (cold cache, as a first visit) and records, in the
 * page, the time from navigation start until the PromQL editor exists and takes input, plus
 * what the page downloaded before that. Medians and ranges over the runs.
 *
 *   npx tsx bench/ui-interactive.ts [--runs=7]
 *
 * Needs chromium (apt-get install chromium) and a built UI (npm run build -w packages/ui).
 */
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { createQuickstart } from '../packages/cli/src/quickstart/quickstart.js';
import { launchChromium } from '../packages/ui/test/browser.js';
import { numberArg } from './args.js';

const RUNS = numberArg('runs', 7);

interface Run {
  /** The query input takes keys (plain input or CodeMirror, whichever came first). */
  interactiveMs: number;
  /** The CodeMirror editor (highlighting, completion) is there. */
  editorMs: number;
  domContentLoadedMs: number;
  scriptKB: number;
  requests: string[];
  htmlMs: number;
  scriptsLoadedMs: number;
  mainMs: number;
  renderedMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const dir = await makeTempDir('ui-interactive-bench-');
const qs = createQuickstart({ dataDir: join(dir, 'data'), httpAddress: '127.0.0.1:0', days: 1 });
await qs.start();
const runs: Run[] = [];
try {
  for (let i = 0; i < RUNS + 1; i++) {
    const browser = await launchChromium(join(dir, `profile-${i}`));
    try {
      const page = await browser.newPage();
      // Records when the editor appears, in the page's own clock (ms since navigation start).
      // (Strings: this file is type-checked without the DOM library.)
      await page.addInitScript(`
        new MutationObserver((_m, obs) => {
          if (window.__inputAt === undefined && document.querySelector('.panel .plain-editor, .panel .cm-content'))
            window.__inputAt = performance.now();
          if (document.querySelector('.panel .cm-content')) {
            window.__editorAt = performance.now();
            obs.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      `);
      const requests: string[] = [];
      page.on('request', (r) => requests.push(new URL(r.url()).pathname));
      await page.goto(`${qs.url}/graph`);
      await page.waitForFunction('window.__editorAt !== undefined');
      // Requests made until the editor was there: the page script, its chunks, no API call.
      const r = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const scripts = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js'));
        return {
          interactiveMs: window.__inputAt,
          editorMs: window.__editorAt,
          domContentLoadedMs: nav.domContentLoadedEventEnd,
          scriptKB: scripts.reduce((n, e) => n + e.encodedBodySize, 0) / 1024,
          htmlMs: nav.responseEnd,
          mainMs: performance.getEntriesByName('ui-main')[0]?.startTime ?? NaN,
          renderedMs: performance.getEntriesByName('ui-rendered')[0]?.startTime ?? NaN,
          scriptsLoadedMs: Math.max(0, ...scripts.map((e) => e.responseEnd)),
        };
      })()`)) as Omit<Run, 'requests'>;
      // Run 0 warms the quick start's caches (first queries of its blocks); not counted.
      if (i > 0) runs.push({ ...r, requests });
      if (i > 0)
        console.log(
          `run ${i}: interactive ${r.interactiveMs.toFixed(0)} ms, CodeMirror ${r.editorMs.toFixed(0)} ms (HTML ${r.htmlMs.toFixed(0)} ms, scripts loaded ${r.scriptsLoadedMs.toFixed(0)} ms, evaluated ${r.mainMs.toFixed(0)} ms, page rendered ${r.renderedMs.toFixed(0)} ms, DOMContentLoaded ${r.domContentLoadedMs.toFixed(0)} ms), scripts ${r.scriptKB.toFixed(0)} KiB transferred`,
        );
    } finally {
      await browser.close();
    }
  }
} finally {
  await qs.close();
  await removeTempDir(dir);
}
const ia = runs.map((r) => r.interactiveMs);
const ea = runs.map((r) => r.editorMs);
console.log(
  `query page interactive: median ${median(ia).toFixed(0)} ms (${Math.min(...ia).toFixed(0)}–${Math.max(...ia).toFixed(0)}), ` +
    `CodeMirror editor median ${median(ea).toFixed(0)} ms (${Math.min(...ea).toFixed(0)}–${Math.max(...ea).toFixed(0)}) over ${runs.length} runs; ` +
    `DOMContentLoaded median ${median(runs.map((r) => r.domContentLoadedMs)).toFixed(0)} ms; requests before interactive: ${runs[0]?.requests.join(', ')}`,
);
