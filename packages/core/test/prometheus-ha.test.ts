import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  formatTimestamp,
  formatValue,
  type GeneratedFamily,
  generateFamilies,
  makeTempDir,
  programAvailable,
  promtool,
  type RunningPrometheus,
  startPrometheus,
} from '@thanos-ts/testing';
import { type BlockReader, Labels, matcher, openBlock } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComponentHandler, type ListeningHTTPServer, listenHTTP } from '../src/http/http-server.js';
import { createQueryAPIHandler } from '../src/http/query-api.js';
import { splitOverlapping } from '../src/query/dedup.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

const HOUR = 3600_000;
// Aligned to the 2h block grid so promtool cuts the same chunks for both replicas.
const START = 1_699_999_200_000;
const DURATION = 4 * HOUR;
const GAP: [number, number] = [START + HOUR, START + 2 * HOUR];

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

// OpenMetrics text of the generated families, leaving out samples `skip` rejects.
function openMetrics(families: GeneratedFamily[], skip: (t: number) => boolean): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# TYPE ${f.name} ${f.kind}\n`);
    for (const s of f.series) {
      const { __name__, ...rest } = s.labels;
      const prefix = `${__name__}{${Object.entries(rest)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',')}} `;
      s.timestamps.forEach((t, i) => {
        if (!skip(t)) out.push(`${prefix}${formatValue(s.values[i] as number)} ${formatTimestamp(t)}\n`);
      });
    }
  }
  out.push('# EOF\n');
  return out.join('');
}

async function blocksIn(dir: string): Promise<BlockReader[]> {
  const names = (await readdir(dir)).filter((n) => /^[0-9A-Z]{26}$/.test(n));
  return Promise.all(names.map((n) => openBlock(join(dir, n))));
}

async function getJSON(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// Results sorted by their labels so the two servers' orders compare.
function normalise(data: unknown): unknown {
  const d = data as { resultType: string; result: { metric: Record<string, string> }[] };
  if (!Array.isArray(d.result)) return d;
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  return { resultType: d.resultType, result: [...d.result].sort((a, b) => (key(a.metric) < key(b.metric) ? -1 : 1)) };
}

// Values as numbers rounded to 12 significant digits: Prometheus 2.42 sums without Kahan
// compensation and the engine (Prometheus 3 semantics) with it, so the last bits may differ.
function rounded(data: unknown): unknown {
  return JSON.parse(JSON.stringify(normalise(data)), (_k, v) =>
    typeof v === 'string' && /^-?\d/.test(v) && !Number.isNaN(Number(v)) ? Number(Number(v).toPrecision(12)) : v,
  );
}

// promtool's text output with numbers rounded like `rounded` does.
function promtoolLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/-?\d+\.\d+(e[+-]?\d+)?(?= @| =>|$|\n)/g, (n) => String(Number(Number(n).toPrecision(12)))))
    .sort();
}

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'querier over two Prometheus HA replicas (replica b misses an hour)',
  () => {
    const families = generateFamilies({
      seed: 7,
      metrics: 6,
      seriesPerMetric: 4,
      startMs: START,
      durationMs: DURATION,
    });
    const counter = `${families.find((f) => f.kind === 'counter')?.name}_total`;
    const gauge = families.find((f) => f.kind === 'gauge')?.name as string;
    const histogram = families.find((f) => f.kind === 'histogram')?.name as string;
    const proms: RunningPrometheus[] = [];
    const grpcServers: Server[] = [];
    let querier: Querier;
    let chainQuerier: Querier;
    let http: ListeningHTTPServer;
    let chainHttp: ListeningHTTPServer;
    // Times after which penalty deduplication may differ from the gap-free data: where the two
    // replicas' chunks overlap, Thanos's algorithm skips up to two samples of the replica it
    // switches to (dedup.test.ts pins this against Thanos's cases).
    const switches: number[] = [];
    const ports: number[] = [];

    beforeAll(async () => {
      const work = await makeTempDir('core-ha-');
      for (const replica of ['a', 'b'] as const) {
        const file = join(work, `${replica}.om.txt`);
        await writeFile(
          file,
          openMetrics(families, (t) => replica === 'b' && t >= GAP[0] && t < GAP[1]),
        );
        const blocks = join(work, `blocks-${replica}`);
        await promtool.createBlocksFromOpenMetrics(file, blocks);
        // Prometheus gets its own copy: it may rewrite its directory; our store reads the other.
        const promDir = join(work, `prom-${replica}`);
        await cp(blocks, promDir, { recursive: true });
        proms.push(
          await startPrometheus({
            dataDir: promDir,
            config: `global:\n  external_labels:\n    replica: ${replica}\n`,
            extraArgs: ['--storage.tsdb.min-block-duration=2h', '--storage.tsdb.max-block-duration=2h'],
          }),
        );
        const server = new Server();
        serveStoreAPI(
          createLocalStore({ blocks: await blocksIn(blocks), externalLabels: Labels.from({ replica }) }),
          server,
        );
        const port = await new Promise<number>((res, rej) =>
          server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
        );
        grpcServers.push(server);
        ports.push(port);
      }
      const endpoints = ports.map((p) => `127.0.0.1:${p}`);
      querier = createQuerier({ endpoints, replicaLabels: ['replica'] });
      await querier.start();
      http = await listenHTTP(
        '127.0.0.1:0',
        createComponentHandler({ handlers: [createQueryAPIHandler({ querier })] }),
      );
      chainQuerier = createQuerier({ endpoints, replicaLabels: ['replica'], deduplicationFunc: 'chain' });
      await chainQuerier.start();
      chainHttp = await listenHTTP(
        '127.0.0.1:0',
        createComponentHandler({ handlers: [createQueryAPIHandler({ querier: chainQuerier })] }),
      );
      for await (const r of querier.series({
        minTime: START,
        maxTime: START + DURATION,
        matchers: [matcher('=~', '__name__', '.+')],
        withoutReplicaLabels: ['replica'],
      })) {
        if (r.type !== 'series') continue;
        const chains = splitOverlapping(r.series.chunks);
        if (chains.length > 1) for (const c of chains.flat()) switches.push(c.minTime, c.maxTime);
      }
    }, 180_000);

    afterAll(async () => {
      await http?.close();
      await chainHttp?.close();
      await querier?.close();
      await chainQuerier?.close();
      for (const s of grpcServers) s.forceShutdown();
      for (const p of proms) await p.stop();
    });

    // Off the 15 s scrape grid, so Prometheus 2.42's closed windows and the engine's
    // Prometheus 3 left-open windows select the same samples; one step lands 7.5 s into the gap.
    const start = (START + 10 * 60_000 + 7_500) / 1000;
    const end = (START + DURATION - 5 * 60_000 + 7_500) / 1000;
    const queries = () => [
      counter,
      `sum by (job) (rate(${counter}[5m]))`,
      gauge,
      `max by (instance) (${gauge})`,
      `histogram_quantile(0.9, sum by (le) (rate(${histogram}_bucket[10m])))`,
      `count(${counter})`,
    ];

    // A step may differ under penalty deduplication only if a replica switch lies in its
    // window: lookback or the longest range in `queries`, plus the two skipped samples.
    const affected = (tSeconds: number) => {
      const t = tSeconds * 1000;
      return switches.some((s) => s <= t && t <= s + 10 * 60_000 + 45_000);
    };

    it('answers range queries like the gap-free replica (chain: all steps; penalty: away from replica switches)', async () => {
      let compared = 0;
      let total = 0;
      for (const q of queries()) {
        const params = `query=${encodeURIComponent(q)}&start=${start}&end=${end}&step=120`;
        const theirs = await getJSON(`${proms[0]?.url}/api/v1/query_range?${params}`);
        const chain = await getJSON(`http://${chainHttp.address}/api/v1/query_range?${params}`);
        expect(chain.status, q).toBe(200);
        expect(rounded(chain.body.data), q).toEqual(rounded(theirs.body.data));
        const ours = await getJSON(`http://${http.address}/api/v1/query_range?${params}`);
        expect(ours.body.status).toBe('success');
        const keep = (d: unknown) => {
          const m = rounded(d) as { result: { metric: unknown; values: [number, unknown][] }[] };
          return m.result.map((r) => ({ metric: r.metric, values: r.values.filter(([t]) => !affected(t)) }));
        };
        const kept = keep(ours.body.data);
        expect(kept, q).toEqual(keep(theirs.body.data));
        compared += kept.reduce((n, r) => n + r.values.length, 0);
        total +=
          keep(theirs.body.data).length === 0
            ? 0
            : (rounded(theirs.body.data) as { result: { values: unknown[] }[] }).result.reduce(
                (n, r) => n + r.values.length,
                0,
              );
      }
      // Most steps were compared under penalty deduplication too (each switch excludes ~11 min).
      expect(compared).toBeGreaterThan(total * 0.5);
    });

    it('answers instant queries inside the gap like the gap-free replica', async () => {
      let t = (GAP[0] + 20 * 60_000 + 7_500) / 1000;
      while (affected(t)) t += 60;
      for (const q of queries()) {
        const params = `query=${encodeURIComponent(q)}&time=${t}`;
        const theirs = await getJSON(`${proms[0]?.url}/api/v1/query?${params}`);
        const ours = await getJSON(`http://${http.address}/api/v1/query?${params}`);
        expect(rounded(ours.body.data), q).toEqual(rounded(theirs.body.data));
        const chain = await getJSON(`http://${chainHttp.address}/api/v1/query?${params}`);
        expect(rounded(chain.body.data), q).toEqual(rounded(theirs.body.data));
      }
    });

    it('shows both replicas with dedup=false, and only a inside the gap', async () => {
      const t = (GAP[0] + 20 * 60_000 + 7_500) / 1000;
      const inGap = await getJSON(
        `http://${http.address}/api/v1/query?query=${encodeURIComponent(`count by (replica) (${gauge})`)}&time=${t}&dedup=false`,
      );
      const r = (inGap.body.data as { result: { metric: Record<string, string> }[] }).result.map(
        (x) => x.metric.replica,
      );
      expect(r).toEqual(['a']);
      const after = await getJSON(
        `http://${http.address}/api/v1/query?query=${encodeURIComponent(`count by (replica) (${gauge})`)}&time=${t + 3600}&dedup=false`,
      );
      const r2 = (after.body.data as { result: { metric: Record<string, string> }[] }).result
        .map((x) => x.metric.replica)
        .sort();
      expect(r2).toEqual(['a', 'b']);
    });

    it('serves promtool query instant and range like Prometheus does', async () => {
      let t = (GAP[0] + 20 * 60_000 + 7_500) / 1000;
      while (affected(t)) t += 60;
      const q = `sum by (job) (${gauge})`;
      const ours = await promtool.queryInstant(`http://${http.address}`, q, t);
      const theirs = await promtool.queryInstant(proms[0]?.url as string, q, t);
      expect(promtoolLines(ours)).toEqual(promtoolLines(theirs));
      expect(ours).toMatch(/job=/);
      const range = { start: start, end: start + 1800, step: '5m' };
      const oursRange = await promtool.queryRange(`http://${http.address}`, `count(${counter})`, range);
      const theirsRange = await promtool.queryRange(proms[0]?.url as string, `count(${counter})`, range);
      expect(promtoolLines(oursRange)).toEqual(promtoolLines(theirsRange));
      expect(oursRange).toMatch(/@\[/);
    });

    it('lists labels, series and stores', async () => {
      const labels = await getJSON(`http://${http.address}/api/v1/labels`);
      const theirLabels = await getJSON(`${proms[0]?.url}/api/v1/labels`);
      expect(labels.body.data).toEqual(theirLabels.body.data);
      const match = `match[]=${encodeURIComponent(gauge)}&start=${start}&end=${end}`;
      const series = await getJSON(`http://${http.address}/api/v1/series?${match}`);
      const theirSeries = await getJSON(`${proms[0]?.url}/api/v1/series?${match}`);
      expect(series.body.data).toEqual(theirSeries.body.data);
      const values = await getJSON(`http://${http.address}/api/v1/label/job/values`);
      expect(values.body.data).toEqual((await getJSON(`${proms[0]?.url}/api/v1/label/job/values`)).body.data);
      const stores = await getJSON(`http://${http.address}/api/v1/stores`);
      const list = (stores.body.data as { store: { labelSets: Record<string, string>[] }[] }).store;
      expect(list.map((s) => s.labelSets[0]?.replica).sort()).toEqual(['a', 'b']);
    });
  },
);
