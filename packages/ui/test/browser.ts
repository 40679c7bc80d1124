import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram } from '@thanos-ts/testing';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Debian's chromium, headless, on a fresh profile in `userDataDir`, with everything that would
 * reach past 127.0.0.1 (updates, sync, QUIC, background fetches) switched off.
 */
export async function launchChromium(userDataDir: string, extraArgs: readonly string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: requireProgram('chromium'),
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/**
 * Where a test's screenshots go: its temp dir, and docs/images too when THANOS_TS_UPDATE_SCREENSHOTS=1
 * (so an ordinary run never rewrites the committed PNGs).
 */
export function screenshotDirs(tempDir: string): string[] {
  const docs = fileURLToPath(new URL('../../../docs/images', import.meta.url));
  return process.env.THANOS_TS_UPDATE_SCREENSHOTS === '1'
    ? [join(tempDir, 'screenshots'), docs]
    : [join(tempDir, 'screenshots')];
}

/** Takes a screenshot of `page` into every directory of {@link screenshotDirs}. */
export async function screenshot(page: Page, tempDir: string, name: string, fullPage = true): Promise<void> {
  const image = await page.screenshot({ fullPage });
  for (const dir of screenshotDirs(tempDir)) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name), image);
  }
}
