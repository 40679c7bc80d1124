import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Reference programs the end-to-end tests run for real, with the Debian package providing each. */
export const PROGRAMS = {
  prometheus: { binary: 'prometheus', debianPackage: 'prometheus' },
  promtool: { binary: 'promtool', debianPackage: 'prometheus' },
  alertmanager: { binary: 'prometheus-alertmanager', debianPackage: 'prometheus-alertmanager' },
  memcached: { binary: 'memcached', debianPackage: 'memcached' },
  'redis-server': { binary: 'redis-server', debianPackage: 'redis-server' },
  // Headless browser for the web UI's tests (driven by playwright-core).
  chromium: { binary: 'chromium', debianPackage: 'chromium' },
} as const;

/** Name of a reference program known to the test helpers. */
export type ProgramName = keyof typeof PROGRAMS;

/** True when end-to-end tests must run (CI sets THANOS_TS_E2E=1): a missing program is a failure. */
export function e2eRequired(): boolean {
  return process.env.THANOS_TS_E2E === '1';
}

/** Absolute path of a program on PATH, or undefined. */
export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const warned = new Set<string>();

/**
 * Whether a reference program is installed. When it is missing, tests using it are skipped with a
 * loud message naming the Debian package — unless THANOS_TS_E2E=1, where this throws so the run fails.
 * Use as `describe.skipIf(!programAvailable('promtool'))(...)`.
 */
export function programAvailable(name: ProgramName): boolean {
  const { binary, debianPackage } = PROGRAMS[name];
  if (findOnPath(binary) !== undefined) return true;
  const message = `${binary} not found on PATH: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`;
  if (e2eRequired()) throw new Error(`THANOS_TS_E2E=1 but ${message}`);
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`\n!!! SKIPPING tests that need ${binary}: ${message}\n`);
  }
  return false;
}

/** Path of a reference program; throws naming the Debian package when missing. */
export function requireProgram(name: ProgramName): string {
  const { binary, debianPackage } = PROGRAMS[name];
  const path = findOnPath(binary);
  if (path === undefined) throw new Error(`${binary} not found on PATH: apt-get install -y ${debianPackage}`);
  return path;
}
