/**
 * Sidecar streaming throughput: N series × 2h of 15s samples pushed into a real Prometheus 2.42
 * (remote write into its head), then read back
 *   - raw: Prometheus's streamed remote-read body drained without decoding (the ceiling),
 *   - sidecar in-process: createPrometheusStore().series() (frames decoded, labels + chunk views),
 *   - sidecar over gRPC: createSidecar + connectStoreAPI, what a querier receives,
 *   - Prometheus itself: /api/v1/query of the same selectors as range vectors (JSON, raw samples).
 * The selectors are split in 10 groups of N/10 series so Prometheus stays under its 50M
 * --query.max-samples. Run: npx tsx bench/core/sidecar.ts [--series=100000]
 */
// Imported from source files (not the package index) so the bench runs while other parts of
// @thanos-ts/core are in flux.

import { startPrometheus } from '@thanos-ts/testing';
import { type Labels, matcher, xorNumSamples } from '@thanos-ts/tsdb';
import { request } from 'undici';
import { createPrometheusClient } from '../../packages/core/src/sidecar/prometheus-client.js';
import { createPrometheusStore } from '../../packages/core/src/sidecar/prometheus-store.js';
import { snappyEncode } from '../../packages/core/src/sidecar/prompb/snappy.js';
import { remoteRead } from '../../packages/core/src/sidecar/remote-read.js';
import { createSidecar } from '../../packages/core/src/sidecar/sidecar.js';
import { connectStoreAPI } from '../../packages/core/src/storeapi/grpc-client.js';
import { numberArg } from '../args.js';

const SERIES = numberArg('series', 100_000);
const METRICS = 100;
const PER_METRIC = Math.ceil(SERIES / METRICS);
const STEP = 15_000;
const RANGE = 2 * 3600_000;
const STEPS_PER_REQUEST = 4;

// Hand-encoded prompb.WriteRequest (protobufjs's object path is too slow for 48M samples).
function varint(buf: Buffer, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[off++] = v;
  return off;
}
function varintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
function labelBytes(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of pairs) {
    const nb = Buffer.from(n);
    const vb = Buffer.from(v);
    const inner = Buffer.alloc(2 + varintLen(nb.length) + nb.length + varintLen(vb.length) + vb.length);
    let o = 0;
    inner[o++] = 0x0a;
    o = varint(inner, o, nb.length);
    o += nb.copy(inner, o);
    inner[o++] = 0x12;
    o = varint(inner, o, vb.length);
    vb.copy(inner, o);
    const outer = Buffer.alloc(1 + varintLen(inner.length));
    outer[0] = 0x0a;
    varint(outer, 1, inner.length);
    parts.push(outer, inner);
  }
  return Buffer.concat(parts);
}

async function ingest(url: string, start: number): Promise<{ seconds: number; samples: number }> {
  const labels: Buffer[] = [];
  for (let m = 0; m < METRICS; m++) {
    for (let i = 0; i < PER_METRIC; i++) {
      labels.push(
        labelBytes([
          ['__name__', `bench_metric_${String(m).padStart(2, '0')}`],
          ['instance', `host-${i}:9100`],
          ['job', 'bench'],
        ]),
      );
    }
  }
  const t0 = performance.now();
  let samples = 0;
  const steps = RANGE / STEP;
  for (let s = 0; s < steps; s += STEPS_PER_REQUEST) {
    const k = Math.min(STEPS_PER_REQUEST, steps - s);
    const parts: Buffer[] = [];
    for (let idx = 0; idx < labels.length; idx++) {
      const lb = labels[idx] as Buffer;
      const sampleMsgs = Buffer.alloc(k * 20);
      let o = 0;
      for (let j = 0; j < k; j++) {
        const t = start + (s + j) * STEP;
        const tsLen = varintLen(t);
        sampleMsgs[o++] = 0x12;
        sampleMsgs[o++] = 1 + 8 + 1 + tsLen;
        sampleMsgs[o++] = 0x09;
        // A counter-like walk: realistic XOR compression.
        sampleMsgs.writeDoubleLE(Math.floor((s + j) * (1 + (idx % 7)) + (idx % 13) * 0.25), o);
        o += 8;
        sampleMsgs[o++] = 0x10;
        o = varint(sampleMsgs, o, t);
      }
      const body = Buffer.concat([lb, sampleMsgs.subarray(0, o)]);
      const head = Buffer.alloc(1 + varintLen(body.length));
      head[0] = 0x0a;
      varint(head, 1, body.length);
      parts.push(head, body);
      samples += k;
    }
    const res = await request(`${url}/api/v1/write`, {
      method: 'POST',
      body: snappyEncode(Buffer.concat(parts)),
      headers: {
        'content-encoding': 'snappy',
        'content-type': 'application/x-protobuf',
        'x-prometheus-remote-write-version': '0.1.0',
      },
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`remote write ${res.statusCode}: ${text}`);
  }
  return { seconds: (performance.now() - t0) / 1000, samples };
}

const groups = Array.from({ length: 10 }, (_, g) => `bench_metric_${g}[0-9]`);

interface Row {
  path: string;
  seconds: number;
  series: number;
  samples: number;
  mib?: number;
}

async function main() {
  const prom = await startPrometheus({
    config: 'global:\n  scrape_interval: 15s\n  external_labels:\n    cluster: bench\n    replica: a\n',
    extraArgs: ['--query.max-samples=60000000'],
  });
  const rows: Row[] = [];
  try {
    const end = Math.floor(Date.now() / STEP) * STEP;
    const start = end - RANGE + STEP;
    console.error(`ingesting ${SERIES} series × ${RANGE / STEP} samples …`);
    const ing = await ingest(prom.url, start);
    console.error(`ingested ${ing.samples} samples in ${ing.seconds.toFixed(1)} s`);

    const matchersOf = (g: string) => [matcher('=', 'job', 'bench'), matcher('=~', '__name__', g)];

    // Raw remote read, bytes only.
    {
      let bytes = 0;
      let series = 0;
      let samples = 0;
      const t0 = performance.now();
      for (const g of groups) {
        const stats = { frames: 0, bytes: 0 };
        for await (const s of remoteRead(
          { prometheusUrl: prom.url, stats, acceptedResponseTypes: ['STREAMED_XOR_CHUNKS'] },
          { startMs: start, endMs: end, matchers: matchersOf(g) },
        )) {
          series++;
          for (const c of s.chunks) samples += xorNumSamples(c.raw?.data ?? new Uint8Array());
        }
        bytes += stats.bytes;
      }
      rows.push({
        path: 'remoteRead() only (frames checked and decoded, no StoreAPI)',
        seconds: (performance.now() - t0) / 1000,
        series,
        samples,
        mib: bytes / 1048576,
      });
    }

    // Sidecar StoreAPI in-process.
    const store = createPrometheusStore({
      client: createPrometheusClient({ url: prom.url }),
      externalLabels: () => ext,
      timestamps: () => ({ minTime: start, maxTime: Number.MAX_SAFE_INTEGER }),
    });
    const sidecar = createSidecar({ prometheusUrl: prom.url, grpcAddress: '127.0.0.1:0', readyTimeoutMs: 60_000 });
    await sidecar.start();
    const ext: Labels = sidecar.externalLabels();
    for (const [path, api] of [
      ['sidecar StoreAPI in-process', store],
      ['sidecar StoreAPI over gRPC (connectStoreAPI)', connectStoreAPI(sidecar.grpcAddress as string)],
    ] as const) {
      let series = 0;
      let samples = 0;
      const t0 = performance.now();
      for (const g of groups) {
        for await (const r of api.series({ minTime: start, maxTime: end, matchers: matchersOf(g) })) {
          if (r.type !== 'series') continue;
          series++;
          for (const c of r.series.chunks) samples += xorNumSamples(c.raw?.data ?? new Uint8Array());
        }
      }
      rows.push({ path, seconds: (performance.now() - t0) / 1000, series, samples });
    }
    await sidecar.close();

    // Prometheus itself: the same raw samples as range vectors through its HTTP API (JSON).
    {
      let series = 0;
      let samples = 0;
      let bytes = 0;
      let transfer = 0;
      for (const g of groups) {
        const q = new URLSearchParams({
          query: `{job="bench",__name__=~"${g}"}[${RANGE}ms]`,
          time: (end / 1000).toFixed(3),
        });
        const t0 = performance.now();
        const res = await request(`${prom.url}/api/v1/query?${q}`);
        const text = await res.body.text();
        transfer += performance.now() - t0;
        bytes += text.length;
        const body = JSON.parse(text) as { data: { result: { values: unknown[] }[] } };
        for (const r of body.data.result) {
          series++;
          samples += r.values.length;
        }
      }
      rows.push({
        path: 'Prometheus /api/v1/query range vectors (JSON body received)',
        seconds: transfer / 1000,
        series,
        samples,
        mib: bytes / 1048576,
      });
    }
  } finally {
    await prom.stop();
  }
  console.log(`| path | series | samples | seconds | series/s | samples/s | MiB |`);
  console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
  for (const r of rows) {
    console.log(
      `| ${r.path} | ${r.series} | ${r.samples} | ${r.seconds.toFixed(2)} | ${Math.round(r.series / r.seconds)} | ${(r.samples / r.seconds / 1e6).toFixed(2)}M | ${r.mib === undefined ? '' : r.mib.toFixed(0)} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
