/**
 * Query frontend results cache: a 7-day dashboard range query (step 60s, 10,080 points per series)
 * against a real Prometheus 2.42 serving promtool-made blocks, measured
 *   - direct: Prometheus's /api/v1/query_range itself,
 *   - uncached: through the frontend without a cache (split into 8 day pieces, run in parallel),
 *   - cold: through a frontend with an empty IN-MEMORY (or memcached) cache (a fresh one per run),
 *   - warm: the same query repeated on a frontend whose cache holds it.
 * Prints medians (ms) and warm/cold and uncached/direct ratios. With --frontend-process the two
 * frontends run in a child process (as in production, not sharing the client's thread and garbage
 * collector) and the frontend's own CPU per uncached and warm query is printed too, from
 * /proc/<pid>/stat: far steadier than wall times on a shared machine.
 * floor: the warm answer's bytes served again by a bare node:http server in the frontends' process
 * (memoized on its first request): what any server there needs to hand this answer to this client,
 * so warm − floor is the frontend's own cost of a hit. The target is warm/uncached ≤ 5%.
 * Run: npx tsx bench/core/frontend-cache.ts [--runs=9] [--series-per-metric=10] [--memcached] [--frontend-process]
 */
// Imported from source files (not the package index) so the bench runs while the package's
// exports are being wired.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import {
  blocksFromOpenMetrics,
  type RunningService,
  removeTempDir,
  startMemcached,
  startPrometheus,
} from '@thanos-ts/testing';
import { request } from 'undici';
import { parseResponseCacheConfig } from '../../packages/core/src/frontend/cache-config.js';
import { createQueryFrontend, type QueryFrontend } from '../../packages/core/src/frontend/query-frontend.js';
import { numberArg } from '../args.js';
import { type ForwardedAnswer, forwardRequest, replyWith } from '../forward.js';
import { processCpuMs } from '../proc.js';

const RUNS = numberArg('runs', 9);
const PER_METRIC = numberArg('series-per-metric', 10);
const MEMCACHED = process.argv.includes('--memcached');
const CHILD = process.argv.includes('--frontend-process');
/** Set in the child: the downstream URL and the cache YAML (base64url, '' for none) of the two frontends. */
const SERVE = process.argv.find((x) => x.startsWith('--serve-frontends='))?.split('=')[1];
const DAY = 86_400_000;
const D0 = 1_699_920_000_000;
const QUERIES = [
  'sum by (job) (rate(gen_counter_0_total[5m]))',
  'histogram_quantile(0.9, sum by (le, job) (rate(gen_histogram_2_bucket[5m])))',
  'avg_over_time(gen_gauge_1[10m])',
];

function params(query: string): string {
  return new URLSearchParams({
    query,
    start: String((D0 + DAY) / 1000),
    end: String((D0 + 8 * DAY) / 1000),
    step: '60',
  }).toString();
}

async function time(base: string, query: string): Promise<number> {
  const t = performance.now();
  const res = await request(`${base}/api/v1/query_range?${params(query)}`);
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${base}: ${res.statusCode} ${body.slice(0, 200)}`);
  return performance.now() - t;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function frontendOptions(downstreamUrl: string, yaml: string | undefined) {
  const parsed = yaml ? parseResponseCacheConfig(yaml) : undefined;
  return {
    downstreamUrl,
    httpAddress: '127.0.0.1:0',
    httpGracePeriodMs: 0,
    ...(parsed?.cache ? { responseCache: { cache: parsed.cache, name: parsed.name } } : {}),
  };
}

/**
 * A bare HTTP server that answers each URL with the bytes `base` answered it with the first time:
 * the floor of serving a cached answer of that size from this process.
 */
async function startFloorServer(base: string): Promise<{ server: Server; address: string }> {
  const answers = new Map<string, ForwardedAnswer>();
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const known = answers.get(url);
    if (known) replyWith(res, known);
    else
      void forwardRequest(req, base).then((a) => {
        answers.set(url, a);
        replyWith(res, a);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { server, address: typeof addr === 'object' && addr ? `127.0.0.1:${addr.port}` : '' };
}

/** The child of --frontend-process: an uncached and a cached frontend, and the floor server, until SIGTERM. */
async function serveFrontends(arg: string): Promise<void> {
  const [url, yaml64] = arg.split(',') as [string, string];
  const yaml = Buffer.from(yaml64, 'base64url').toString('utf8');
  const all = [createQueryFrontend(frontendOptions(url, undefined)), createQueryFrontend(frontendOptions(url, yaml))];
  for (const f of all) await f.start();
  const floor = await startFloorServer(`http://${all[1]?.httpAddress}`);
  process.stdout.write(`FRONTENDS ${all.map((f) => f.httpAddress).join(' ')} ${floor.address}\n`);
  process.once('SIGTERM', async () => {
    floor.server.close();
    for (const f of all) await f.close();
    process.exit(0);
  });
}

/** Starts the frontends' child process; resolves with it and the base URLs (uncached, cached, floor). */
async function startChild(
  url: string,
  yaml: string,
): Promise<{ child: ChildProcess; bases: [string, string, string] }> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      ...process.argv.slice(1, 2),
      `--serve-frontends=${url},${Buffer.from(yaml).toString('base64url')}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /FRONTENDS (\S+) (\S+) (\S+)/.exec(out);
      if (m) resolve(`${m[1]} ${m[2]} ${m[3]}`);
    });
    child.once('exit', (code) => reject(new Error(`frontend process exited with ${code}`)));
  });
  const [a, b, c] = line.split(' ');
  return { child, bases: [`http://${a}`, `http://${b}`, `http://${c}`] };
}

async function main(): Promise<void> {
  console.log(`generating 9 days of data (${PER_METRIC} series per metric, 60s scrapes) with promtool…`);
  const blocks = await blocksFromOpenMetrics({
    startMs: D0,
    durationMs: 9 * DAY,
    scrapeIntervalMs: 60_000,
    metrics: 6,
    seriesPerMetric: PER_METRIC,
    maxBlockDuration: '24h',
  });
  console.log(`${blocks.series} series, ${blocks.samples} samples`);
  const prom = await startPrometheus({ dataDir: blocks.dir });
  let memcached: RunningService | undefined;
  if (MEMCACHED) memcached = await startMemcached();
  const frontends: QueryFrontend[] = [];
  const yaml = memcached
    ? `type: MEMCACHED\nconfig:\n  addresses: ["127.0.0.1:${memcached.port}"]\n  max_item_size: 32MB\n`
    : 'type: IN-MEMORY\nconfig:\n  max_size: 512MB\n';
  const make = async (cached: boolean): Promise<string> => {
    const f = createQueryFrontend(frontendOptions(prom.url, cached ? yaml : undefined));
    frontends.push(f);
    await f.start();
    return `http://${f.httpAddress}`;
  };
  let child: ChildProcess | undefined;
  let floorServer: { server: Server; address: string } | undefined;
  try {
    let uncached: string;
    let warmFrontend: string;
    let floorBase: string;
    if (CHILD) {
      const started = await startChild(prom.url, yaml);
      child = started.child;
      [uncached, warmFrontend, floorBase] = started.bases;
    } else {
      uncached = await make(false);
      warmFrontend = await make(true);
      floorServer = await startFloorServer(warmFrontend);
      floorBase = `http://${floorServer.address}`;
    }
    /** Times a query through the frontends, adding the frontend process's CPU to `cpu` (child only). */
    const through = async (base: string, q: string, cpu: number[]): Promise<number> => {
      const before = child?.pid ? processCpuMs(child.pid) : 0;
      const ms = await time(base, q);
      if (child?.pid) cpu.push(processCpuMs(child.pid) - before);
      return ms;
    };
    console.log(`backend: ${MEMCACHED ? 'MEMCACHED' : 'IN-MEMORY'}; ${RUNS} runs per figure; 7-day range, step 60s`);
    console.log(
      `query | direct ms | uncached ms | cold ms | warm ms | floor ms | warm/uncached | warm/cold | uncached/direct${CHILD ? ' | frontend CPU ms/query uncached | warm' : ''}`,
    );
    for (const q of QUERIES) {
      // One unmeasured round so Prometheus's page cache and the connections are warm for everyone.
      await time(prom.url, q);
      await time(uncached, q);
      const direct: number[] = [];
      const uncachedMs: number[] = [];
      const cold: number[] = [];
      const warm: number[] = [];
      const cpuUncached: number[] = [];
      const cpuWarm: number[] = [];
      const ignored: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        direct.push(await time(prom.url, q));
        uncachedMs.push(await through(uncached, q, cpuUncached));
        // A cold run: a query text the cache has never seen (a no-op suffix changes the key).
        cold.push(await through(warmFrontend, `${q} + 0 * ${i}`, ignored));
      }
      await time(warmFrontend, q);
      // memcached stores are asynchronous: let them land before measuring hits.
      await new Promise((r) => setTimeout(r, 200));
      await time(floorBase, q);
      const floor: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        warm.push(await through(warmFrontend, q, cpuWarm));
        floor.push(await time(floorBase, q));
      }
      const [d, u, c, w, fl] = [median(direct), median(uncachedMs), median(cold), median(warm), median(floor)];
      // CPU per query: the mean (ticks are 10 ms, so a median would mostly read 0 or 10).
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const cpu = CHILD ? ` | ${mean(cpuUncached).toFixed(1)} | ${mean(cpuWarm).toFixed(1)}` : '';
      console.log(
        `${q} | ${d.toFixed(1)} | ${u.toFixed(1)} | ${c.toFixed(1)} | ${w.toFixed(1)} | ${fl.toFixed(1)} | ${((100 * w) / u).toFixed(1)}% | ${((100 * w) / c).toFixed(1)}% | ${((100 * u) / d).toFixed(0)}%${cpu}`,
      );
    }
  } finally {
    if (child) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    floorServer?.server.close();
    for (const f of frontends) await f.close();
    await memcached?.stop();
    await prom.stop();
    await removeTempDir(blocks.dir);
  }
}

if (SERVE !== undefined) await serveFrontends(SERVE);
else await main();
