import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Compactor, createCompactor, createQuerier, createRuler, type Querier } from '@thanos-ts/core';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { freePort, makeTempDir, programAvailable, removeTempDir, waitFor } from '@thanos-ts/testing';
import { createUIHandler } from '@thanos-ts/ui';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuickstart, type Quickstart } from '../../cli/src/quickstart/quickstart.js';
import { launchChromium, screenshot } from './browser.js';

const here = dirname(fileURLToPath(import.meta.url));
const built = existsSync(join(here, '../dist/assets/manifest.json'));

interface APIBody<T> {
  status: string;
  data: T;
  error?: string;
  warnings?: string[];
}
type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function api<T>(url: string): Promise<APIBody<T>> {
  return (await (await fetch(url)).json()) as APIBody<T>;
}

/** `name{a="1", b="2"}` as the page prints series (format.ts's metricToString). */
function seriesName(metric: Record<string, string>): string {
  const { __name__: name = '', ...rest } = metric;
  const labels = Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return labels === '' && name !== '' ? name : `${name}{${labels}}`;
}

/**
 * Distinct colours (not white, grey or black) drawn on a panel's graph canvas: > 0 means lines were
 * drawn. Runs in the page (a string, since this file is type-checked without DOM types).
 */
async function colouredPixels(page: Page, panel = 0): Promise<number> {
  return page.evaluate(`(() => {
    const canvas = document.querySelectorAll('.panel')[${panel}]?.querySelector('canvas');
    if (!canvas) return -1;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let p = 0; p < data.length; p += 4) {
      const r = data[p], g = data[p + 1], b = data[p + 2];
      if (data[p + 3] > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 40) n++;
    }
    return n;
  })()`);
}

describe.skipIf(!programAvailable('chromium'))('web UI in headless chromium over the quick start', () => {
  let dataDir: string;
  let qs: Quickstart;
  let browser: BrowserContext;
  let page: Page;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    if (!built) throw new Error('packages/ui/dist/assets is missing: run `npm run build -w packages/ui` first');
    dataDir = await makeTempDir('ui-e2e-');
    qs = createQuickstart({ dataDir, httpAddress: '127.0.0.1:0', days: 1 });
    await qs.start();
    browser = await launchChromium(join(dataDir, 'chromium-profile'));
    page = await browser.newPage();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await browser?.close();
    await qs?.close();
    if (dataDir) await removeTempDir(dataDir);
  });

  it('query page: completion, table values equal the API, graph draws every series, hover, URL state', async () => {
    // What the quick start's printed URL answers: the query page, no longer a 404.
    const root = await fetch(`${qs.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await root.text()).toContain('"page":"query"');
    const began = Date.now();
    await page.goto(`${qs.url}/graph`);
    // Interactive: the plain input takes keys (Enter runs the query) until CodeMirror replaces it.
    await page.locator('.panel .plain-editor, .panel .cm-content').first().waitFor();
    const interactiveMs = Date.now() - began;
    const editor = page.locator('.panel .cm-content').first();
    await editor.waitFor();
    console.log(`query page interactive after ${interactiveMs} ms, CodeMirror editor after ${Date.now() - began} ms`);

    // Completion of a metric name through /api/v1/label/__name__/values.
    await editor.click();
    await page.keyboard.type('http_requests_tot');
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'http_requests_total' }).first();
    await option.waitFor({ timeout: 10_000 });
    // CodeMirror ignores Enter for 75 ms after the list opens (interactionDelay), so a fast typist's
    // Enter still runs the query; a person reads the list first.
    await page.waitForTimeout(150);
    await page.keyboard.press('Enter');
    expect(await editor.textContent()).toBe('http_requests_total');
    // Label name completion inside a selector.
    await page.keyboard.type('{clus');
    await page.locator('.cm-tooltip-autocomplete li', { hasText: 'cluster' }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
    // Rewrite the whole query (closeBrackets types over what it inserted).
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    const query = 'sum by (cluster, code) (rate(http_requests_total[5m]))';
    await page.keyboard.type(query);
    await page.keyboard.press('Escape');
    expect(await editor.textContent()).toBe(query);

    // Table at a fixed evaluation time, compared with the JSON API at the same time.
    const t = Math.floor((Date.now() - 3_600_000) / 60_000) * 60;
    const moment = new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ');
    await page.locator('.panel .moment').first().fill(moment);
    await page.locator('.panel .moment').first().press('Enter');
    await page.locator('.panel .result-table tr').first().waitFor();
    const want = await api<{ result: Vector }>(
      `${qs.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${t}&dedup=true&partial_response=false&max_source_resolution=0s`,
    );
    expect(want.status).toBe('success');
    expect(want.data.result.length).toBeGreaterThan(1);
    const rows = await page
      .locator('.panel .result-table tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual(want.data.result.map((s) => [seriesName(s.metric), s.value[1]]));
    await screenshot(page, dataDir, 'query-table.png');

    // Graph: one range query, every series drawn and in the legend.
    await page.locator('.panel .tab-graph').first().click();
    await page.locator('.panel canvas').first().waitFor();
    await page.waitForFunction("document.querySelectorAll('.graph-legend-item').length > 0");
    expect(await page.locator('.graph-legend-item').count()).toBe(want.data.result.length);
    expect(await page.locator('.panel .stats').first().textContent()).toContain(
      `Result series: ${want.data.result.length}`,
    );
    expect(await colouredPixels(page)).toBeGreaterThan(500);
    // Hover in the middle of the plot: the tooltip names a series and its value.
    const over = page.locator('.panel .u-over').first();
    const box = await over.boundingBox();
    if (!box) throw new Error('no plot area');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.move(box.x + box.width / 2 + 3, box.y + box.height / 2 + 3);
    const tooltip = page.locator('.graph-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    expect(await tooltip.textContent()).toMatch(/\{cluster="(eu|us)-1", code="\d+"\}/);
    await screenshot(page, dataDir, 'query-graph.png');

    // Stacked redraws without a new query.
    await page.locator('.panel .stacked input').first().check();
    expect(await colouredPixels(page)).toBeGreaterThan(500);

    // State in the URL: a reload shows the same panel, graph tab, stacked, and runs it.
    const link = page.url();
    expect(new URL(link).searchParams.get('g0.expr')).toBe(query);
    expect(new URL(link).searchParams.get('g0.tab')).toBe('graph');
    expect(new URL(link).searchParams.get('g0.stacked')).toBe('1');
    expect(new URL(link).searchParams.get('g0.deduplicate')).toBe('1');
    await page.goto(link);
    await page.waitForFunction("document.querySelectorAll('.graph-legend-item').length > 0");
    expect(await page.locator('.panel .cm-content').first().textContent()).toBe(query);
    expect(await page.locator('.panel .stacked input').first().isChecked()).toBe(true);

    // A second panel, and the dedup switch: without dedup every replica is a series of its own.
    await page.locator('.add-panel').click();
    expect(await page.locator('.panel').count()).toBe(2);
    const second = page.locator('.panel').nth(1);
    await second.locator('.cm-content').click();
    await page.keyboard.type('count(up)');
    await page.keyboard.press('Escape');
    await second.locator('.dedup input').uncheck();
    await second.locator('.execute').click();
    await second.locator('.result-table td.series-value').waitFor();
    const raw = await api<{ result: Vector }>(`${qs.url}/api/v1/query?query=count(up)&dedup=false`);
    expect(await second.locator('.result-table td.series-value').textContent()).toBe(raw.data.result[0]?.value[1]);
    expect(new URL(page.url()).searchParams.get('g1.deduplicate')).toBe('0');
  });

  it('the plain input takes a query before CodeMirror has loaded, and CodeMirror keeps it', async () => {
    const html = await (await fetch(`${qs.url}/graph`)).text();
    const preloaded = [...html.matchAll(/rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]);
    const p2 = await browser.newPage();
    // Hold back the chunks loaded later (CodeMirror, the graph) until the query has been typed.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    await p2.route('**/static/chunk-*.js', async (route) => {
      if (!preloaded.includes(new URL(route.request().url()).pathname)) await held;
      await route.continue();
    });
    try {
      await p2.goto(`${qs.url}/graph`);
      const plain = p2.locator('.panel .plain-editor').first();
      await plain.click();
      await p2.keyboard.type('count(up)');
      expect(await p2.locator('.panel .cm-content').count()).toBe(0);
      await p2.keyboard.press('Enter');
      // Enter ran the query from the plain input: the table shows its one row.
      await p2.locator('.panel .result-table tr').first().waitFor();
      release();
      const cm = p2.locator('.panel .cm-content').first();
      await cm.waitFor();
      expect(await cm.textContent()).toBe('count(up)');
      expect(await p2.locator('.panel .plain-editor').count()).toBe(0);
    } finally {
      release();
      await p2.close();
    }
  });

  it("a bad query shows the server's error and marks its position", async () => {
    const bad = 'sum(rate(http_requests_total[5m])';
    const want = await api<unknown>(`${qs.url}/api/v1/query?query=${encodeURIComponent(bad)}`);
    expect(want.status).toBe('error');
    await page.goto(`${qs.url}/graph?${new URLSearchParams({ 'g0.expr': bad, 'g0.tab': 'table' })}`);
    const alert = page.locator('.panel .alert.error').first();
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`Error executing query: ${want.error}`);
    expect(want.error).toMatch(/^invalid parameter "query": 1:34: parse error/);
    const marked = page.locator('.panel .cm-server-error');
    await marked.waitFor();
    expect(await marked.getAttribute('title')).toBe(want.error);
    await screenshot(page, dataDir, 'query-error.png', false);
  });

  it('stores page lists the store gateway healthy, and a down endpoint as down', async () => {
    await page.goto(`${qs.url}/stores`);
    const row = page.locator('tr.store', { hasText: 'store-gateway (in-process)' });
    await row.waitFor();
    expect(await row.locator('.badge').first().textContent()).toBe('UP');
    expect(await row.textContent()).toContain('cluster="eu-1"');

    // A second querier with an address nobody listens on: it is listed, DOWN, with its error.
    const deadPort = await freePort();
    const querier: Querier = createQuerier({
      endpoints: [`127.0.0.1:${deadPort}`, { name: 'store-gateway (in-process)', store: qs.gateway }],
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      evaluationWorkers: 0,
    });
    await querier.start();
    cleanups.push(() => querier.close());
    await page.goto(`http://${querier.httpAddress}/stores`);
    const down = page.locator('tr.store.down');
    await down.waitFor();
    expect(await down.locator('.endpoint').textContent()).toBe(`127.0.0.1:${deadPort}`);
    expect(await down.locator('.badge').first().textContent()).toBe('DOWN');
    expect(((await down.locator('td').last().textContent()) ?? '').length).toBeGreaterThan(3);
    expect(await page.locator('tr.store.up').count()).toBe(1);
    await screenshot(page, dataDir, 'stores.png');
  });

  it("rules page lists the quick start's ruler rules through its querier", async () => {
    // The quick start's querier fans /api/v1/rules out to its ruler (it used to answer 404 here).
    await page.goto(`${qs.url}/rules`);
    await page.locator('.rule-group').first().waitFor();
    const text = (await page.locator('.rules').first().textContent()) ?? '';
    expect(text).toContain('record: cluster:http_requests:rate5m');
    expect(text).toContain('alert: HighErrorRate');
  });

  it("rules and alerts pages over a ruler's API, evaluating against the quick start", async () => {
    const rulesFile = join(dataDir, 'rules.yml');
    await writeFile(
      rulesFile,
      `groups:
  - name: demo
    interval: 1s
    rules:
      - record: cluster:http_requests:rate5m
        expr: sum by (cluster) (rate(http_requests_total[5m]))
      - alert: HighErrorRate
        expr: sum by (cluster) (rate(http_requests_total{code="500"}[5m])) > 0
        labels: { severity: page }
      - alert: NeverFires
        expr: vector(1) < 0
`,
    );
    const ruler = createRuler({
      ruleFiles: [rulesFile],
      dataDir: join(dataDir, 'ruler'),
      queryURLs: [qs.url],
      shipIntervalMs: 0,
    });
    await ruler.start();
    cleanups.push(() => ruler.close());
    // The ruler's API and the pages in one server, as a ruler mounting the UI would serve them.
    const ui = createUIHandler({ pages: ['rules', 'alerts'], title: 'thanos-ts rule' });
    const server = createServer((req, res) => {
      void (async () => {
        if (!(await ui(req, res)) && !(await ruler.handler(req, res))) {
          res.writeHead(404);
          res.end();
        }
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await waitFor(
      'the ruler to fire its alert',
      async () => (await api<{ alerts: unknown[] }>(`${base}/api/v1/alerts`)).data.alerts.length > 0,
      30_000,
    );

    await page.goto(`${base}/rules`);
    await page.locator('.rule-group').waitFor();
    const rules = await page.locator('.rule-group tbody tr').allTextContents();
    expect(rules).toHaveLength(3);
    expect(rules[0]).toContain('record: cluster:http_requests:rate5m');
    expect(rules[0]).toContain('ok');
    expect(rules[1]).toContain('alert: HighErrorRate');
    expect(rules[1]).toContain('firing');
    await screenshot(page, dataDir, 'rules.png');

    await page.goto(`${base}/alerts`);
    const firing = page.locator('.alert-rule.state-firing');
    await firing.waitFor();
    expect(await firing.locator('summary').textContent()).toMatch(/^firing HighErrorRate \(2 active\)$/);
    expect(await firing.locator('tbody tr').count()).toBe(2);
    expect(await firing.locator('tbody tr').first().textContent()).toContain('severity="page"');
    expect(await page.locator('.alert-rule.state-inactive summary').textContent()).toContain('NeverFires (0 active)');
    await screenshot(page, dataDir, 'alerts.png');
  });

  it("bucket page: the compactor's blocks on a timeline per label set, with marks and hover details", async () => {
    const bucketDir = join(dataDir, 'bucket');
    const bucket = createFilesystemBucket({ directory: bucketDir });
    cleanups.push(() => bucket.close());
    // A no-compact mark as an operator (or `thanos tools bucket mark`) would write it.
    const ulid = qs.gateway.blocks()[0]?.ulid as string;
    expect(ulid).toBeTruthy();
    await writeFile(
      join(bucketDir, ulid, 'no-compact-mark.json'),
      JSON.stringify({
        id: ulid,
        version: 1,
        details: 'kept for the test',
        no_compact_time: 1_700_000_000,
        reason: 'manual',
      }),
    );
    const compactor: Compactor = createCompactor({
      bucket,
      dataDir: join(dataDir, 'compact'),
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      consistencyDelayMs: 0,
    });
    await compactor.start();
    cleanups.push(() => compactor.close());
    await compactor.done;
    const base = `http://${compactor.httpAddress}`;
    const info = await api<{ blocks: { ulid: string }[]; marks: Record<string, unknown>; err: string | null }>(
      `${base}/api/v1/blocks`,
    );
    expect(info.status).toBe('success');
    expect(info.data.err).toBeNull();
    expect(info.data.blocks.length).toBeGreaterThanOrEqual(qs.blocks);
    expect(info.data.marks[ulid]).toMatchObject({ noCompact: { reason: 'manual' } });

    await page.goto(`${base}/`);
    await page.locator('.block').first().waitFor();
    expect(await page.locator('.block').count()).toBe(info.data.blocks.length);
    // Two clusters × two replicas: one group per external label set.
    expect(await page.locator('.block-group').count()).toBe(4);
    expect(await page.locator(`.block.marked-no-compact[data-ulid="${ulid}"]`).count()).toBe(1);
    const deletions = Object.values(info.data.marks).filter((m) => (m as { deletion?: unknown }).deletion).length;
    expect(await page.locator('.block.marked-deletion').count()).toBe(deletions);
    await page.locator(`.block[data-ulid="${ulid}"]`).hover();
    const details = page.locator(`.details-table[data-ulid="${ulid}"]`);
    await details.waitFor();
    const text = (await details.textContent()) ?? '';
    expect(text).toContain(ulid);
    expect(text).toMatch(/Series[\d,]+/);
    expect(text).toContain('manual kept for the test');
    await screenshot(page, dataDir, 'blocks.png');
  });
});
