import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type GeneratedSeries,
  makeTempDir,
  programAvailable,
  promtool,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
  writeOpenMetrics,
} from '@thanos-ts/testing';
import { type BlockMeta, createBlocksFromOpenMetrics, dumpSamples, Matcher, readBlockMeta } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Moderate size for the committed suite (a few thousand series); bench/tsdb/roundtrip.ts does
// the ≥10k series / ≥1M samples run.
const GEN = {
  seed: 7,
  metrics: 15,
  seriesPerMetric: 40,
  durationMs: 2.5 * 3600_000,
  scrapeIntervalMs: 60_000,
  jitterMs: 3000,
  startMs: 1_700_003_000_123,
};

async function ourDump(dir: string, opts: { minTime?: number; maxTime?: number; matchers?: Matcher[] } = {}) {
  const parts: string[] = [];
  await dumpSamples(
    dir,
    (t) => {
      parts.push(t);
    },
    opts,
  );
  return parts.join('');
}

function blockDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => /^[0-9A-Z]{26}$/.test(d))
    .map((d) => join(dir, d));
}

describe.skipIf(!programAvailable('promtool'))('tsdb formats against promtool 2.42', () => {
  let input: string;
  let theirs: string;
  let ours: string;
  let data: GeneratedSeries[];
  let theirDump: string;
  let work: string;

  beforeAll(async () => {
    work = await makeTempDir('tsdb-e2e-');
    input = join(work, 'data.om');
    ({ data } = await writeOpenMetrics(input, GEN));
    theirs = join(work, 'promtool');
    ours = join(work, 'ours');
    await promtool.createBlocksFromOpenMetrics(input, theirs);
    await createBlocksFromOpenMetrics(input, ours);
    theirDump = await promtool.dump(theirs);
  }, 240_000);

  afterAll(async () => {
    if (work) await removeTempDir(work);
  });

  it('generated data has the shape the test needs', () => {
    expect(data.length).toBeGreaterThan(1000);
    expect(blockDirs(theirs).length).toBeGreaterThan(1);
    expect(theirDump.split('\n').length).toBeGreaterThan(100_000);
    expect(theirDump).toContain(' NaN ');
    expect(theirDump).toContain(' +Inf ');
  });

  it('our dump of promtool’s blocks is byte-identical to promtool’s', async () => {
    expect(await ourDump(theirs)).toBe(theirDump);
  });

  it('dump with --match, --min-time and --max-time agrees', async () => {
    const minTime = GEN.startMs + 1800_000;
    const maxTime = GEN.startMs + 2 * 3600_000 + 17;
    const want = await promtool.dump(theirs, { minTime, maxTime, match: '{job=~"job-[12]",shard!="3"}' });
    const got = await ourDump(theirs, {
      minTime,
      maxTime,
      matchers: [new Matcher('=~', 'job', 'job-[12]'), new Matcher('!=', 'shard', '3')],
    });
    expect(want.length).toBeGreaterThan(1000);
    expect(got).toBe(want);
  });

  it('our blocks hold the same bytes as promtool’s (index and chunks), and meta agrees', async () => {
    const a = blockDirs(theirs);
    const b = blockDirs(ours);
    const metas = async (dirs: string[]) =>
      (await Promise.all(dirs.map((d) => readBlockMeta(d)))).sort((x, y) => x.minTime - y.minTime);
    const ma = await metas(a);
    const mb = await metas(b);
    const strip = (m: BlockMeta) => ({
      minTime: m.minTime,
      maxTime: m.maxTime,
      stats: m.stats,
      level: m.compaction.level,
    });
    expect(mb.map(strip)).toEqual(ma.map(strip));
    for (let i = 0; i < ma.length; i++) {
      const da = join(theirs, ma[i]?.ulid as string);
      const db = join(ours, mb[i]?.ulid as string);
      expect(readFileSync(join(db, 'index')).equals(readFileSync(join(da, 'index')))).toBe(true);
      expect(readdirSync(join(db, 'chunks'))).toEqual(readdirSync(join(da, 'chunks')));
      for (const seg of readdirSync(join(da, 'chunks'))) {
        expect(readFileSync(join(db, 'chunks', seg)).equals(readFileSync(join(da, 'chunks', seg)))).toBe(true);
      }
      expect(readFileSync(join(db, 'tombstones')).equals(readFileSync(join(da, 'tombstones')))).toBe(true);
    }
  });

  it('promtool analyzes our blocks and dumps them like its own', async () => {
    for (const d of blockDirs(ours)) {
      const out = await promtool.analyze(ours, d.slice(ours.length + 1));
      expect(out).toMatch(/Block ID:/);
    }
    expect(await promtool.dump(ours)).toBe(theirDump);
  });

  describe.skipIf(!programAvailable('prometheus'))('Prometheus 2.42 serving our blocks', () => {
    let prom: RunningPrometheus;
    beforeAll(async () => {
      prom = await startPrometheus({ dataDir: ours });
    }, 120_000);
    afterAll(async () => {
      await prom?.stop();
    });

    const query = async (expr: string, time: number) => {
      const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time / 1000}`;
      const body = (await (await fetch(url)).json()) as {
        status: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      expect(body.status).toBe('success');
      return body.data.result;
    };

    // The sample Prometheus's instant selector picks: the latest in (t-5m, t], unless stale.
    const latest = (s: GeneratedSeries, t: number): number | undefined => {
      let v: number | undefined;
      for (let i = 0; i < s.timestamps.length; i++) {
        const ts = s.timestamps[i] as number;
        if (ts > t) break;
        if (ts > t - 300_000) v = s.values[i] as number;
      }
      return v;
    };

    it.each([0.5, 1.2, 2.3])('count and per-metric sums at start+%sh equal the input', async (hours) => {
      const t = GEN.startMs + hours * 3600_000;
      const present = data.filter((s) => latest(s, t) !== undefined);
      const count = await query('count({__name__=~".+"})', t);
      expect(Number(count[0]?.value[1])).toBe(present.length);
      const sums = await query('sum by (__name__) ({__name__=~".+"})', t);
      const want = new Map<string, number>();
      for (const s of present)
        want.set(s.labels.__name__ as string, (want.get(s.labels.__name__ as string) ?? 0) + (latest(s, t) as number));
      expect(sums.length).toBe(want.size);
      for (const r of sums) {
        const w = want.get(r.metric.__name__ as string) as number;
        const g = Number(r.value[1] === '+Inf' ? Infinity : r.value[1] === '-Inf' ? -Infinity : r.value[1]);
        if (Number.isNaN(w) || !Number.isFinite(w)) expect(String(g)).toBe(String(w));
        else expect(Math.abs(g - w)).toBeLessThanOrEqual(Math.abs(w) * 1e-9 + 1e-9);
      }
    });
  });
});
