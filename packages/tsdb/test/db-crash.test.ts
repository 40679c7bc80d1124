// Crash safety: a child process appends and commits in a loop (compacting now and then) and is
// SIGKILLed at random points; every commit it reported must survive the reopen.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openDB } from '../src/db/index.js';
import { Matcher } from '../src/labels/matcher.js';

const SERIES = 20;
const STEP = 1000;
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The child: resumes after the newest data in the dir, commits one sample per series per
// iteration, reports each commit on stdout once commit() resolved, compacts every 25 commits
// (1-minute blocks, so blocks, checkpoints and WAL truncations all happen under the kill).
const CHILD = `
import { openDB } from ${JSON.stringify(src('../src/db/index.ts'))};
import { Labels } from ${JSON.stringify(src('../src/labels/labels.ts'))};
const db = await openDB({ dir: process.argv[2], blockDurationMs: 60_000, retentionMs: 0, walSegmentSizeBytes: 64 * 1024 });
let newest = db.head.numSeries > 0 ? db.head.maxTime : Number.NEGATIVE_INFINITY;
for (const b of db.blocks()) newest = Math.max(newest, b.meta.maxTime - 1);
let t = newest === Number.NEGATIVE_INFINITY ? 0 : (Math.floor(newest / ${STEP}) + 1) * ${STEP};
const labels = [];
for (let s = 0; s < ${SERIES}; s++) labels.push(Labels.from({ __name__: 'crash', s: String(s) }));
process.stdout.write('ready\\n');
for (let i = 1; ; i++, t += ${STEP}) {
  const app = db.appender();
  for (let s = 0; s < ${SERIES}; s++) app.append(labels[s], t, s * 1e6 + t / 1000);
  await app.commit();
  process.stdout.write('committed ' + t + '\\n');
  if (i % 25 === 0) await db.compactHead();
}
`;

let dir = '';
let scriptDir = '';
afterAll(async () => {
  if (dir) await removeTempDir(dir);
  if (scriptDir) await removeTempDir(scriptDir);
});

function runUntilKilled(script: string, killAfterMs: number): Promise<{ lastCommitted: number; commits: number }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSX_DISABLE_CACHE: '1' },
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (timer === undefined && out.includes('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child exited with ${code ?? signal} before the kill: ${err}`));
        return;
      }
      const ts = [...out.matchAll(/^committed (\d+)$/gm)].map((m) => Number(m[1]));
      resolve({ lastCommitted: ts.length > 0 ? Math.max(...ts) : -1, commits: ts.length });
    });
  });
}

describe('DB crash safety', () => {
  it('keeps every reported commit across random SIGKILLs; no temporary block dirs stay visible', async () => {
    dir = await makeTempDir('db-crash-');
    scriptDir = await makeTempDir('db-crash-child-');
    const script = join(scriptDir, 'child.mts');
    await writeFile(script, CHILD);
    // Fixed pseudo-random kill points (ms after the child is ready) so runs are reproducible.
    const killPoints = [350, 1200, 90, 800, 2000, 30];
    let reported = -1;
    let totalCommits = 0;
    for (const killAfter of killPoints) {
      const { lastCommitted, commits } = await runUntilKilled(script, killAfter);
      totalCommits += commits;
      reported = Math.max(reported, lastCommitted);
      const db = await openDB({ dir, blockDurationMs: 60_000, retentionMs: 0 });
      try {
        // Nothing half-made is visible after open.
        expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
        const res = await db.queryable().select([new Matcher('=', '__name__', 'crash')], { start: 0, end: reported });
        expect(res).toHaveLength(reported < 0 ? 0 : SERIES);
        for (const s of res) {
          const k = Number(s.labels.get('s'));
          // Every timestamp 0, STEP, …, reported, each once, with its value.
          const n = reported / STEP + 1;
          expect(s.timestamps.length).toBe(n);
          let bad = 0;
          for (let i = 0; i < n; i++) if (s.timestamps[i] !== i * STEP || s.values[i] !== k * 1e6 + i) bad++;
          expect(bad).toBe(0);
        }
      } finally {
        await db.close();
      }
    }
    expect(totalCommits).toBeGreaterThan(100);
    expect(readdirSync(dir).filter((f) => /^[0-9A-Z]{26}$/.test(f)).length).toBeGreaterThan(0);
  }, 120_000);
});
