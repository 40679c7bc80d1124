import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { readFileSync, mkdtempSync } from 'node:fs';
const dir = mkdtempSync('/tmp/uib-');
await build({ entryPoints: ['web/bench/graph-bench.ts'], bundle: true, format: 'iife', outfile: dir + '/b.js', logLevel: 'warning' });
const ctx = await chromium.launchPersistentContext(dir + '/p', { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
page.on('console', (m) => console.log('page:', m.text()));
await page.setContent('<div id="graph" style="width:1200px"></div>');
await page.addStyleTag({ content: readFileSync(dir + '/b.css', 'utf8') });
await page.addScriptTag({ content: readFileSync(dir + '/b.js', 'utf8') });
for (const [s, p] of process.argv.slice(2).map((a) => a.split('x').map(Number))) {
  const r = await page.evaluate(([s, p]) => globalThis.benchGraph(s, p), [s, p]);
  console.log(JSON.stringify(r));
}
await ctx.close();
