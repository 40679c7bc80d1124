import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { programAvailable, promtool } from '@thanos-ts/testing';
import { Labels, openDB } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { parseDurationFlag, runCreateBlocksFromOpenMetrics, runTsdbDump } from './tools-tsdb.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

const INPUT = `# TYPE http_requests_total counter
http_requests_total{code="200",path="/a b"} 1 1700000000
http_requests_total{code="200",path="/a b"} 3 1700000015
http_requests_total{code="500",path="/"} 1e-7 1700000000.5
temp{room="k\\"itchen"} -Inf 1700007300
# EOF
`;

async function capture(fn: (w: (t: string) => void) => Promise<void>): Promise<string> {
  let out = '';
  await fn((t) => {
    out += t;
  });
  return out;
}

describe('tools tsdb', () => {
  it('create-blocks-from openmetrics, then dump with a selector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-tsdb-'));
    writeFileSync(join(dir, 'in.om'), INPUT);
    const table = await capture((w) => runCreateBlocksFromOpenMetrics(join(dir, 'in.om'), join(dir, 'out'), {}, w));
    expect(table.split('\n')[0]).toMatch(/^BLOCK ULID\s+MIN TIME\s+MAX TIME/);
    expect(readdirSync(join(dir, 'out'))).toHaveLength(2);
    const all = await capture((w) => runTsdbDump({ block: join(dir, 'out') }, w));
    expect(all).toBe(
      [
        '{__name__="http_requests_total", code="200", path="/a b"} 1 1700000000000',
        '{__name__="http_requests_total", code="200", path="/a b"} 3 1700000015000',
        '{__name__="http_requests_total", code="500", path="/"} 1e-07 1700000000500',
        '{__name__="temp", room="k\\"itchen"} -Inf 1700007300000',
        '',
      ].join('\n'),
    );
    const some = await capture((w) =>
      runTsdbDump({ block: join(dir, 'out'), match: 'http_requests_total{code=~"2.."}', minTime: '1700000010000' }, w),
    );
    expect(some).toBe('{__name__="http_requests_total", code="200", path="/a b"} 3 1700000015000\n');
    if (programAvailable('promtool')) expect(await promtool.dump(join(dir, 'out'))).toBe(all);
  });

  it('dumps a data directory with its head (WAL) as promtool does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-tsdb-db-'));
    const db = await openDB({ dir });
    const app = db.appender();
    const t0 = Date.now() - 3600_000;
    for (let i = 0; i < 50; i++) {
      app.append(Labels.from({ __name__: 'wal_metric', i: String(i % 5) }), t0 + i * 15_000, i * 1.5);
    }
    await app.commit();
    await db.close();
    const ours = await capture((w) => runTsdbDump({ block: dir }, w));
    expect(ours.split('\n').filter((l) => l !== '')).toHaveLength(50);
    if (programAvailable('promtool')) expect(ours).toBe(await promtool.dump(dir));
  });

  it('dumps native histograms series by series, streaming (writes before the last series is read)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-tsdb-hist-'));
    const db = await openDB({ dir, retentionMs: 0 });
    const nSeries = 300;
    const h = (i: number) => ({
      counterResetHint: 0 as const,
      schema: 2,
      zeroThreshold: 0.001,
      zeroCount: i,
      count: 3 * i,
      sum: i * 1.5,
      positiveSpans: [{ offset: 1, length: 2 }],
      negativeSpans: [],
      positiveBuckets: [i, 0],
      negativeBuckets: [],
    });
    for (let t = 0; t < 5 * 3600_000; t += 60_000) {
      const app = db.appender();
      for (let s = 0; s < nSeries; s++)
        app.appendHistogram(Labels.from({ __name__: 'lat', s: String(s).padStart(4, '0') }), t, h(t / 60_000));
      await app.commit();
    }
    const res = await db.compactHead();
    await db.close();
    const block = join(dir, res.blocks[0] as string);
    const pieces: string[] = [];
    let linesAtFirstWrite = 0;
    await runTsdbDump({ block }, (t) => {
      if (pieces.length === 0) linesAtFirstWrite = t.split('\n').length;
      pieces.push(t);
    });
    const lines = pieces.join('').trimEnd().split('\n');
    expect(lines[0]).toBe('{__name__="lat", s="0000"} {count:0, sum:0} 0');
    expect(lines[1]).toBe(
      '{__name__="lat", s="0000"} {count:3, sum:1.5, [-0.001,0.001]:1, (1,1.189207115002721]:1, (1.189207115002721,1.414213562373095]:1} 60000',
    );
    expect(pieces.length).toBeGreaterThan(3);
    expect(linesAtFirstWrite).toBeLessThan(lines.length / 2);
  });

  it('parses durations', () => {
    expect(parseDurationFlag('d', '1h30m')).toBe(5400_000);
    expect(() => parseDurationFlag('max-block-duration', '2 hours')).toThrow(/--max-block-duration/);
  });

  it('bad input: one error line naming the file, exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-tsdb-'));
    const file = join(dir, 'bad.om');
    writeFileSync(file, 'up 1 1700000000\nup x 1700000001\n# EOF\n');
    const err = (await run(
      process.execPath,
      ['--import', 'tsx', MAIN, 'tools', 'tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'out')],
      {
        cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
      },
    ).catch((e) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toBe(`thanos-ts: ${file}:2: invalid value "x"\n`);
    const block = join(dir, '01M89XKXWXC25Q8HX54RFWC3RM');
    mkdirSync(block);
    writeFileSync(join(block, 'meta.json'), '{"ulid": 1}');
    const err2 = (await run(process.execPath, ['--import', 'tsx', MAIN, 'tools', 'tsdb', 'dump', '--block', dir], {
      cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
    }).catch((e) => e)) as { code: number; stderr: string };
    expect(err2.code).toBe(1);
    expect(err2.stderr).toBe(`thanos-ts: ${join(block, 'meta.json')} at byte 0: invalid ulid 1\n`);
  }, 60_000);
});
