/**
 * Receiver ingest throughput: remote-write requests of 1,000 samples each (1,000 series × 1
 * sample), sent over HTTP from this process with a few requests in flight, into
 *   - the thanos-ts receiver (RF=1, one tenant, WAL on), and
 *   - Prometheus 2.42's own remote-write receiver (--web.enable-remote-write-receiver), same load,
 * reporting samples/s, p50/p99 request latency, failed requests and the receiver's memory per
 * series. Requests are encoded and snappy-compressed before the clock starts. The load generator
 * runs in a worker thread of this process, so it does not share the receiver's event loop (as it
 * does not share Prometheus's); --client=main runs it on the main thread instead.
 * With --rf=3, three receivers in this process form a ketama hashring with replication factor 3
 * (forwarding over gRPC on loopback) and the load goes to one of them.
 * Run: npx tsx bench/core/receive-throughput.ts [--series=10000] [--rounds=60] [--inflight=4] [--prometheus=1] [--rf=1]
 */
// Imported from source files so the bench runs before the subpath is wired into the package.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { freePort, programAvailable, startPrometheus } from '@thanos-ts/testing';
import { compressSync } from 'snappy';
import { Agent, request } from 'undici';
import { createReceiver } from '../../packages/core/src/receive/receiver.js';
import { encodeWriteRequest, type WriteSeries } from '../../packages/core/src/receive/wire.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const SERIES = arg('series', 10_000);
const ROUNDS = arg('rounds', 60);
const INFLIGHT = arg('inflight', 4);
const WITH_PROM = arg('prometheus', 1) === 1 && programAvailable('prometheus');
const CLIENT_ON_MAIN = process.argv.includes('--client=main');
const RF = arg('rf', 1);
const PER_REQUEST = 1_000;

/** Request bodies, round by round: every series gets one sample per round, 15s apart. */
function makeBodies(): Buffer[] {
  const start = Date.now() - 3600_000;
  const labels = Array.from({ length: SERIES }, (_, i) => [
    { name: '__name__', value: `bench_metric_${i % 100}` },
    { name: 'instance', value: `host-${Math.floor(i / 100)}:9100` },
    { name: 'job', value: 'node' },
  ]);
  const bodies: Buffer[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = start + r * 15_000;
    for (let off = 0; off < SERIES; off += PER_REQUEST) {
      const batch: WriteSeries[] = [];
      for (let i = off; i < Math.min(off + PER_REQUEST, SERIES); i++)
        batch.push({
          labels: labels[i] as WriteSeries['labels'],
          timestamps: [t],
          values: [r * 10 + (i % 7)],
          histograms: 0,
        });
      bodies.push(compressSync(Buffer.from(encodeWriteRequest(batch))));
    }
  }
  return bodies;
}

interface Result {
  samplesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  firstError: string;
}

async function drive(url: string, bodies: Buffer[]): Promise<Result> {
  const agent = new Agent({ connections: INFLIGHT, pipelining: 1 });
  const lat: number[] = [];
  let failed = 0;
  let firstError = '';
  let next = 0;
  const t0 = performance.now();
  // Rounds go in order (a sample must not overtake an older one of its series): each worker takes
  // the next body, but a round starts only when the previous round's requests are done.
  const perRound = Math.ceil(SERIES / PER_REQUEST);
  for (let r = 0; r < ROUNDS; r++) {
    const end = next + perRound;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        for (let i = next++; i < end; i = next++) {
          const s = performance.now();
          const res = await request(url, {
            method: 'POST',
            body: bodies[i] as Buffer,
            dispatcher: agent,
            headers: {
              'Content-Type': 'application/x-protobuf',
              'Content-Encoding': 'snappy',
              'X-Prometheus-Remote-Write-Version': '0.1.0',
            },
          });
          const text = await res.body.text();
          lat.push(performance.now() - s);
          if (res.statusCode >= 300) {
            failed++;
            firstError ||= `${res.statusCode} ${text.trim()}`;
          }
        }
      }),
    );
    next = end;
  }
  const secs = (performance.now() - t0) / 1000;
  await agent.close();
  lat.sort((a, b) => a - b);
  return {
    samplesPerSec: (SERIES * ROUNDS) / secs,
    p50Ms: lat[Math.floor(lat.length * 0.5)] as number,
    p99Ms: lat[Math.floor(lat.length * 0.99)] as number,
    failed,
    firstError,
  };
}

function line(name: string, r: Result, extra = ''): string {
  return `${name.padEnd(22)} ${Math.round(r.samplesPerSec).toLocaleString('en').padStart(10)} samples/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  failed ${r.failed}${r.firstError ? ` (${r.firstError})` : ''}${extra}`;
}

/** Drives `url` from a worker thread (or here with --client=main). */
function driveFrom(url: string): Promise<Result> {
  if (CLIENT_ON_MAIN) return drive(url, makeBodies());
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { url },
      argv: process.argv.slice(2),
      execArgv: ['--import', 'tsx'],
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

if (!isMainThread) {
  const { url } = workerData as { url: string };
  parentPort?.postMessage(await drive(url, makeBodies()));
} else {
  console.log(
    `receive-throughput: ${SERIES} series × ${ROUNDS} rounds = ${(SERIES * ROUNDS).toLocaleString('en')} samples, ${PER_REQUEST} samples/request, ${INFLIGHT} in flight, client ${CLIENT_ON_MAIN ? 'on the main thread' : 'in a worker thread'}, node ${process.version}`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'receive-bench-'));
  try {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const ports = await Promise.all(Array.from({ length: RF }, () => freePort()));
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    const receivers = addrs.map((a, i) =>
      createReceiver({
        tsdbPath: join(dir, `receive-${i}`),
        remoteWriteAddress: i === 0 ? '127.0.0.1:0' : undefined,
        flushIntervalMs: 0,
        httpGracePeriodMs: 0,
        grpcGracePeriodMs: 0,
        ...(RF > 1
          ? {
              grpcAddress: a,
              localEndpoint: a,
              hashrings: [{ endpoints: addrs.map((address) => ({ address })) }],
              hashringsAlgorithm: 'ketama' as const,
              replicationFactor: RF,
            }
          : {}),
      }),
    );
    await Promise.all(receivers.map((r) => r.start()));
    const receiver = receivers[0] as (typeof receivers)[0];
    const ours = await driveFrom(`http://${receiver.remoteWriteAddress}/api/v1/receive`);
    global.gc?.();
    const heapPerSeries = (process.memoryUsage().heapUsed - heapBefore) / SERIES;
    console.log(
      line(
        RF > 1 ? `thanos-ts receiver RF=${RF}` : 'thanos-ts receiver',
        ours,
        `  heap/series ${global.gc && !CLIENT_ON_MAIN ? `${Math.round(heapPerSeries)} B` : 'n/a (needs --expose-gc, client in a worker)'}`,
      ),
    );
    for (const r of receivers) await r.close();
    if (WITH_PROM && RF === 1) {
      const prom = await startPrometheus({ dataDir: join(dir, 'prom') });
      try {
        const theirs = await driveFrom(`${prom.url}/api/v1/write`);
        console.log(line('prometheus 2.42', theirs));
        console.log(`ratio thanos-ts/prometheus: ${(ours.samplesPerSec / theirs.samplesPerSec).toFixed(2)}`);
      } finally {
        await prom.stop();
      }
    } else console.log('prometheus 2.42: skipped (binary not found, --prometheus=0 or --rf > 1)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
