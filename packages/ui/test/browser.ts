import { requireProgram } from '@thanos-ts/testing';
import { type BrowserContext, chromium } from 'playwright-core';

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
