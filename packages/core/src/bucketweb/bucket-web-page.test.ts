// The blocks page of `tools bucket web` in Debian's headless chromium, over blocks promtool made.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable, removeTempDir } from '@thanos-ts/testing';
import { isULID } from '@thanos-ts/tsdb';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../../../ui/test/browser.js';
import { uploadBlock } from '../block/upload.js';
import { markForDeletion } from '../compact/markers.js';
import { createBucketWeb } from './bucket-web.js';

const built = existsSync(fileURLToPath(new URL('../../../ui/dist/assets/manifest.json', import.meta.url)));
const runnable = programAvailable('chromium') && programAvailable('promtool');
if (!runnable) console.warn('SKIPPING bucket web page test: chromium or promtool not installed');

describe.skipIf(!runnable)('tools bucket web page in headless chromium', () => {
  const dirs: string[] = [];
  let browser: BrowserContext | undefined;
  afterAll(async () => {
    await browser?.close();
    for (const d of dirs) await removeTempDir(d);
  });

  it('draws every block on the timeline, grouped by external labels and titled by --label, with marks', async () => {
    if (!built) throw new Error('packages/ui/dist/assets is missing: run `npm run build -w packages/ui` first');
    const gen = await blocksFromOpenMetrics({ metrics: 2, seriesPerMetric: 4, durationMs: 7 * 3_600_000 });
    const bucketDir = await makeTempDir('bucket-web-page-');
    dirs.push(gen.dir, bucketDir);
    const bucket = createFilesystemBucket({ directory: bucketDir });
    const blocks = (await readdir(gen.dir)).filter(isULID).sort();
    const uploaded: string[] = [];
    for (const d of blocks)
      uploaded.push(
        (await uploadBlock(bucket, join(gen.dir, d), { labels: { cluster: 'eu-1', replica: 'a' }, source: 'sidecar' }))
          .ulid,
      );
    const marked = uploaded[0] as string;
    await markForDeletion(bucket, marked, 'superseded', Date.now());

    await using web = createBucketWeb({
      bucket,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      label: 'cluster',
      routePrefix: '/bucket',
    });
    await web.start();
    const profile = await makeTempDir('bucket-web-chromium-');
    dirs.push(profile);
    browser = await launchChromium(profile);
    const page = await browser.newPage();
    await page.goto(`http://${web.httpAddress}/`);
    // Redirected to the route prefix; the page then calls /bucket/api/v1/blocks.
    expect(new URL(page.url()).pathname).toBe('/bucket/');
    await page.locator('.block').first().waitFor();
    expect(await page.locator('.block').count()).toBe(uploaded.length);
    expect(await page.locator('.block-group').count()).toBe(1);
    expect(await page.locator('.block-group h3 .group-title').textContent()).toBe('eu-1 ');
    expect(await page.locator('.block-group').getAttribute('data-labels')).toBe('{cluster="eu-1", replica="a"}');
    expect(await page.locator('.block.marked-deletion').count()).toBe(1);
    expect(await page.locator(`.block.marked-deletion`).getAttribute('data-ulid')).toBe(marked);
    await page.locator(`.block[data-ulid="${marked}"]`).hover();
    const details = page.locator(`.details-table[data-ulid="${marked}"]`);
    await details.waitFor();
    const text = (await details.textContent()) ?? '';
    expect(text).toContain(marked);
    expect(text).toContain('superseded');
    expect(text).toMatch(/Series\s*\d+/);
    await screenshot(page, bucketDir, 'bucket-web.png');
  });
});
