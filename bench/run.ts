// `npm run bench` lists the benchmarks; `npm run bench -- <name> [args…]` runs one. Each writes
// its figures to stdout; docs/benchmarks.md keeps the measured numbers with these commands.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

interface Benchmark {
  script: string;
  what: string;
  /** Node flags the script needs (e.g. --expose-gc for memory figures). */
  nodeFlags?: string[];
}

const BENCHMARKS: Record<string, Benchmark> = {
  'tsdb-xor': { script: 'tsdb/xor.ts', what: 'XOR chunk encode/decode, samples/s' },
  tracing: { script: 'tracing.ts', what: 'tracing off vs on (ratio 1.0, OTLP sink), heavy-query set medians' },
  'frontend-shard': {
    script: 'frontend-shard.ts',
    what: 'query frontend vertical sharding vs one querier (--runs, --series-per-metric)',
  },
  'tsdb-histogram-decode': {
    script: 'tsdb-histogram-decode.ts',
    what: 'native histogram chunk decode, buckets/s/core (target ≥ 10M)',
  },
  'promql-histograms': {
    script: 'promql-histograms.ts',
    what: 'native histogram queries over 10k series (histogram_quantile of sum of rate) and the float path; --vs-prometheus: the same block queried by us and Prometheus 2.42 (needs prometheus)',
  },
  'receive-replay': {
    script: 'receive-replay.ts',
    what: 'receiver WAL replay to ready + memory, 200k series, vs Prometheus 2.42 on the same WAL; --snapshot=1 --series=1000000: clean restart from the chunk snapshot (needs prometheus)',
  },
  'ui-interactive': {
    script: 'ui-interactive.ts',
    what: 'query page time to input/CodeMirror on the quick start (needs chromium)',
  },
  'ui-graph': { script: 'ui-graph.ts', what: '10k×1k graph render in headless chromium' },
  'promql-histogram-pool': {
    script: 'promql-histogram-pool.ts',
    what: 'native histograms across the evaluation pool: structured clone vs flat encoding (10k×120), queries in thread vs pool',
    nodeFlags: ['--expose-gc'],
  },
  'compact-vs-prometheus': {
    script: 'compact-vs-prometheus.ts',
    what: 'compactor vertical compaction of 2 overlapping 2h blocks vs Prometheus 2.42 on the same blocks (needs prometheus)',
  },
  'compact-memory': {
    script: 'compact-memory.ts',
    what: 'compactor peak RSS merging N blocks (2,000 series; --series, --blocks)',
  },
  'tsdb-postings': { script: 'tsdb/postings.ts', what: 'postings intersection of two 1M lists' },
  'tsdb-wal-replay': {
    script: 'tsdb/wal-replay.ts',
    what: 'readWAL+decodeRecord vs Prometheus 2.42 WAL replay (needs prometheus)',
  },
  'tsdb-head-ingest': {
    script: 'tsdb/head-ingest.ts',
    what: 'head ingest with WAL, 100k series: samples/s, memory per series',
    nodeFlags: ['--expose-gc'],
  },
  'tsdb-compact': {
    script: 'tsdb/compact-blocks.ts',
    what: 'compact 3×2h blocks vs Prometheus 2.42 (needs prometheus)',
  },
  'tsdb-histogram': { script: 'tsdb/histogram-chunks.ts', what: 'native histogram chunk encode/decode, histograms/s' },
  'tsdb-roundtrip': {
    script: 'tsdb/roundtrip.ts',
    what: 'write and read 100k series × 240 samples vs promtool; bytes per series',
    nodeFlags: ['--expose-gc'],
  },
  'promql-engine': {
    script: 'promql/engine-vs-prometheus.ts',
    what: 'range queries vs Prometheus 2.42 (needs prometheus)',
  },
  objstore: {
    script: 'objstore/run.ts',
    what: 'getRange latency/throughput (filesystem, s3rver), API calls per block',
  },
  'objstore-upload': {
    script: 'objstore/upload-providers.ts',
    what: 'block upload MB/s and requests per block to Azurite and s3rver',
  },
  'core-fanout': { script: 'core/fanout-dedup.ts', what: 'fan-out, merge and dedup of 100k series × 2 replicas' },
  'core-query-isolation': {
    script: 'core/query-isolation.ts',
    what: 'health and light-query latency under two heavy queries; concurrency; timeout overrun',
  },
  'core-query-json': {
    script: 'core/query-json.ts',
    what: 'JSON encoding of a 40 × 10,080-point range answer (querier and query frontend)',
  },
  'core-query-isolation-cpu': {
    script: 'core/query-isolation-cpu.ts',
    what: 'main-thread CPU per heavy query of the quick start process (process.threadCpuUsage; --runs, --data-dir, --cpu-prof)',
  },
  'promql-pool': {
    script: 'promql/concurrency-pool.ts',
    what: 'evaluation pool: concurrency, main-thread timer p99, deadline overrun (--series, --days, --step, --query)',
  },
  'promql-range-functions': {
    script: 'promql/range-functions.ts',
    what: 'range functions in the window loop: rate subqueries and *_over_time over 110 series, medians (--series, --runs)',
  },
  'core-rule-eval': { script: 'core/rule-eval.ts', what: '1,000 recording rules per 15 s interval' },
  'core-rule-template': { script: 'core/rule-template.ts', what: 'alert template rendering, alerts/s' },
  'core-compactor': {
    script: 'core/compactor-group.ts',
    what: 'compactor: one group of 4×2h blocks through the bucket',
  },
  'core-compactor-plan': {
    script: 'core/compactor-plan.ts',
    what: 'compactor planning over 10,000 block metas (in memory), and an idle iteration over them in a filesystem bucket',
  },
  'core-downsample': { script: 'core/compactor-downsample.ts', what: 'downsampling raw → 5m → 1h, samples/s and size' },
  'core-store-10k': {
    script: 'core/store-10k-blocks.ts',
    what: 'store gateway over 10,000 blocks: start to ready, health during sync',
  },
  'core-frontend-cache': {
    script: 'core/frontend-cache.ts',
    what: '7-day range query via query frontend: direct/uncached/cold/warm (needs prometheus)',
  },
  'core-frontend-presets': {
    script: 'core/frontend-presets.ts',
    what: "query frontend cache hit ratio, a dashboard cycling Grafana's presets (--cycles, --refreshes; needs prometheus)",
  },
  'core-receive': {
    script: 'core/receive-throughput.ts',
    what: 'remote-write ingest vs Prometheus 2.42 (needs prometheus)',
    nodeFlags: ['--expose-gc'],
  },
  'core-sidecar': {
    script: 'core/sidecar.ts',
    what: 'streaming from Prometheus through the sidecar (needs prometheus)',
  },
  'core-store': {
    script: 'core/store.ts',
    what: 'store gateway memory, start-up, query latency vs Prometheus (needs prometheus)',
  },
};

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !(name in BENCHMARKS)) {
  if (name !== undefined) console.error(`unknown benchmark "${name}"\n`);
  console.log('benchmarks (npm run bench -- <name> [args…]; parser: npx vitest bench --run bench/promql):');
  for (const [n, b] of Object.entries(BENCHMARKS)) console.log(`  ${n.padEnd(16)} ${b.what}`);
  process.exitCode = name === undefined ? 0 : 2;
} else {
  const bench = BENCHMARKS[name] as Benchmark;
  const result = spawnSync(
    process.execPath,
    [...(bench.nodeFlags ?? []), '--import', 'tsx', join(import.meta.dirname, bench.script), ...args],
    { stdio: 'inherit', env: { ...process.env, TSX_DISABLE_CACHE: '1' } },
  );
  process.exitCode = result.status ?? 1;
}
