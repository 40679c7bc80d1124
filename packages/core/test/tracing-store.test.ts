import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../src/block/upload-blocks.js';
import { createQuerier } from '../src/query/querier.js';
import { createStoreGateway } from '../src/store/store-gateway.js';
import { createTracing } from '../src/tracing/index.js';
import { type OTLPReceiver, type ReceivedSpan, startOTLPHttpReceiver } from './otlp-receiver.js';

// A query through a querier into a store gateway over promtool-made blocks: the gateway's spans
// (per block, per chunk fetch, per bucket read, with their byte counts) join the query's trace.

const START = 1_700_000_000_000;
const HOURS = 3_600_000;

function config(endpoint: string, service: string): string {
  return `type: OTLP
config:
  client_type: http
  service_name: ${service}
  endpoint: ${endpoint}
  insecure: true
  sampler_type: alwayssample
`;
}

describe.skipIf(!programAvailable('promtool'))('store gateway spans', () => {
  let bucketDir: string;
  let dataDir: string;
  let receiver: OTLPReceiver;

  beforeAll(async () => {
    const gen = await blocksFromOpenMetrics({
      metrics: 2,
      seriesPerMetric: 4,
      durationMs: 4 * HOURS,
      startMs: START,
      scrapeIntervalMs: 30_000,
    });
    bucketDir = await makeTempDir('tracing-bucket-');
    dataDir = await makeTempDir('tracing-data-');
    await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, {
      labels: { cluster: 'eu1' },
      source: 'test',
    });
    receiver = await startOTLPHttpReceiver();
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
  });

  it('postings, chunk fetches and bucket reads with byte counts, in the query trace', async () => {
    const qt = createTracing(config(receiver.endpoint, 'querier'));
    const st = createTracing(config(receiver.endpoint, 'store'));
    const gateway = createStoreGateway({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dataDir,
      grpcAddress: '127.0.0.1:0',
      grpcGracePeriodMs: 0,
      tracer: st.tracer,
    });
    await gateway.start();
    const querier = createQuerier({
      endpoints: [gateway.grpcAddress as string],
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      evaluationWorkers: 0,
      tracer: qt.tracer,
    });
    await querier.start();
    const url = `http://${querier.httpAddress}/api/v1/query_range?query=${encodeURIComponent('count({__name__=~".+"})')}&start=${START / 1000}&end=${(START + 3 * HOURS) / 1000}&step=600`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-thanos-trace-id');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await querier.close();
    await gateway.close();
    await Promise.all([qt.shutdown(), st.shutdown()]);

    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const named = (n: string) => spans.filter((s) => s.name === n);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (s: ReceivedSpan): string[] => {
      const out: string[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p.name);
      return out;
    };
    expect(named('/query_range HTTP[server]')).toHaveLength(1);
    expect(named('range_query_exec')).toHaveLength(1);
    const [server] = named('/thanos.Store/Series').filter((s) => s.service === 'store');
    expect(server?.attributes['store.series']).toBe(8);

    const blocks = named('bucket_store_block_series');
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) {
      expect(b.service).toBe('store');
      expect(b.parentSpanId).toBe(server?.spanId);
      expect(b.attributes.postings).toBeGreaterThan(0);
      expect(String(b.attributes['block.id'])).toMatch(/^[0-9A-Z]{26}$/);
    }
    const fetches = named('bucket_store_fetch_chunks');
    expect(fetches.length).toBeGreaterThan(0);
    for (const f of fetches) expect(f.attributes.bytes).toBeGreaterThan(0);
    const reads = named('bucket_get_range');
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      expect(r.attributes.bytes).toBe(r.attributes.length);
      expect(ancestors(r)).toContain('/thanos.Store/Series');
      expect(ancestors(r)).toContain('/query_range HTTP[server]');
    }
    // Chunk reads hang under the fetch span, index reads under the block span.
    expect(reads.some((r) => ancestors(r)[0] === 'bucket_store_fetch_chunks')).toBe(true);
    expect(reads.some((r) => String(r.attributes.name).endsWith('/index'))).toBe(true);
  }, 60_000);
});
