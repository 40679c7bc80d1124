/**
 * Receiver ingest throughput: remote-write requests of 1,000 samples each (1,000 series × 1
 * sample), sent over HTTP from this process with a few requests in flight, into
 *   - the thanos-ts receiver (RF=1, one tenant, WAL on), and
 *   - Prometheus 2.42's own remote-write receiver (--web.enable-remote-write-receiver), same load,
 * reporting samples/s, p50/p99 request latency, failed requests, the first round (which creates
 * every series) apart from the later ones (appends only), and memory per series: for thanos-ts
 * the JS heap plus ArrayBuffers (chunk bytes live there) after a full GC, for Prometheus its Go
 * heap in use after a forced GC (/debug/pprof/heap?gc=1) and its resident set, each as growth
 * over the idle server divided by the series (warm-up ones included). Requests are encoded and
 * snappy-compressed before the clock starts. Before the clock starts each server also gets a
 * warm-up of other series (--warmup series × 3 rounds, default 2,000), so neither pays one-off
 * start costs in the measured rounds; the measured first round still creates all of its series.
 * The load generator runs in a worker thread of this process, so it does not share the
 * receiver's event loop (as it does not share Prometheus's); --client=main runs it on the main
 * thread instead.
 * The receiver decodes on its ingest worker threads (its default: one less than the cores, at
 * most 4; --workers=0 decodes on the main thread, as before the pool existed). Their CPU counts
 * as the receiver's. --per-request and --worker-min-bytes size the requests and the receiver's
 * inline threshold, to compare the two paths on small requests.
 * With --rf=3, three receivers in this process form a ketama hashring with replication factor 3
 * (forwarding over gRPC on loopback) and the load goes to one of them.
 * Run: npx tsx bench/core/receive-throughput.ts [--series=10000] [--rounds=60] [--inflight=4] [--prometheus=1] [--rf=1] [--warmup=2000] [--workers=N] [--worker-min-bytes=N] [--per-request=1000]
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
import { numberArg } from '../args.js';

const SERIES = numberArg('series', 10_000);
const ROUNDS = numberArg('rounds', 60);
const INFLIGHT = numberArg('inflight', 4);
const WITH_PROM = numberArg('prometheus', 1) === 1 && programAvailable('prometheus');
const CLIENT_ON_MAIN = process.argv.includes('--client=main');
const RF = numberArg('rf', 1);
const WARMUP_SERIES = numberArg('warmup', 2_000);
const WARMUP_ROUNDS = 3;
// Ingest worker threads of the receiver; -1 leaves the receiver's default.
const WORKERS = numberArg('workers', -1);
const PER_REQUEST = numberArg('per-request', 1_000);
// Compressed bodies below this go inline; -1 leaves the receiver's default.
const WORKER_MIN_BYTES = numberArg('worker-min-bytes', -1);

/**
 * Request bodies, round by round: every series gets one sample per round, 15s apart. `prefix`
 * names the metrics, so warm-up series are never the measured ones.
 */
function makeBodies(prefix: string, series: number, rounds: number): Buffer[] {
  const start = Date.now() - 3600_000;
  const labels = Array.from({ length: series }, (_, i) => [
    { name: '__name__', value: `${prefix}_${i % 100}` },
    { name: 'instance', value: `host-${Math.floor(i / 100)}:9100` },
    { name: 'job', value: 'node' },
  ]);
  const bodies: Buffer[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = start + r * 15_000;
    for (let off = 0; off < series; off += PER_REQUEST) {
      const batch: WriteSeries[] = [];
      for (let i = off; i < Math.min(off + PER_REQUEST, series); i++)
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
  /** Duration of the first round (series creation), ms. */
  firstRoundMs: number;
  /** Samples per second over the rounds after the first. */
  laterSamplesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  firstError: string;
  /** CPU the load generator's thread used during the measured rounds, ms. */
  clientCpuMs: number;
}

/** Sends `bodies` round by round (`series` per round), INFLIGHT at a time; returns latencies, ms. */
async function sendRounds(
  url: string,
  agent: Agent,
  bodies: Buffer[],
  series: number,
  onRound: (round: number) => void,
): Promise<{ lat: number[]; failed: number; firstError: string }> {
  const lat: number[] = [];
  let failed = 0;
  let firstError = '';
  let next = 0;
  // Rounds go in order (a sample must not overtake an older one of its series): each worker takes
  // the next body, but a round starts only when the previous round's requests are done.
  const perRound = Math.ceil(series / PER_REQUEST);
  for (let r = 0; next < bodies.length; r++) {
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
    onRound(r);
  }
  return { lat, failed, firstError };
}

async function drive(url: string, warmup: Buffer[], bodies: Buffer[], onStart: () => void): Promise<Result> {
  const agent = new Agent({ connections: INFLIGHT, pipelining: 1 });
  // Warm-up (other series, not timed): both servers get it, so neither pays one-off start costs
  // (JIT compilation here, lazy initialisation there) inside the measured rounds.
  const warm = await sendRounds(url, agent, warmup, WARMUP_SERIES, () => {});
  if (warm.failed > 0) throw new Error(`warm-up failed: ${warm.firstError}`);
  let firstRoundMs = 0;
  onStart();
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  const { lat, failed, firstError } = await sendRounds(url, agent, bodies, SERIES, (r) => {
    if (r === 0) firstRoundMs = performance.now() - t0;
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.threadCpuUsage(cpu0);
  await agent.close();
  lat.sort((a, b) => a - b);
  return {
    samplesPerSec: (SERIES * ROUNDS) / secs,
    firstRoundMs,
    laterSamplesPerSec: ROUNDS > 1 ? (SERIES * (ROUNDS - 1)) / (secs - firstRoundMs / 1000) : 0,
    p50Ms: lat[Math.floor(lat.length * 0.5)] as number,
    p99Ms: lat[Math.floor(lat.length * 0.99)] as number,
    failed,
    firstError,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

function line(name: string, r: Result, extra = ''): string {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  return `${name.padEnd(22)} ${n(r.samplesPerSec).padStart(10)} samples/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  failed ${r.failed}${r.firstError ? ` (${r.firstError})` : ''}  first round ${n(r.firstRoundMs)} ms, later rounds ${n(r.laterSamplesPerSec)} samples/s${extra}`;
}

/** Prometheus's Go heap in use (after a forced GC) and resident set, bytes. */
async function promMemory(url: string): Promise<{ heap: number; rss: number }> {
  // The heap profile endpoint with gc=1 runs a garbage collection first.
  await (await request(`${url}/debug/pprof/heap?gc=1`)).body.arrayBuffer();
  const text = await (await request(`${url}/metrics`)).body.text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { heap: metric('go_memstats_heap_inuse_bytes'), rss: metric('process_resident_memory_bytes') };
}

const warmupBodies = () => makeBodies('bench_warmup', WARMUP_SERIES, WARMUP_ROUNDS);
const measuredBodies = () => makeBodies('bench_metric', SERIES, ROUNDS);

/**
 * Drives `url` from a worker thread (or here with --client=main). `onStart` runs when the
 * measured rounds begin (after the warm-up).
 */
function driveFrom(url: string, onStart: () => void): Promise<Result> {
  if (CLIENT_ON_MAIN) return drive(url, warmupBodies(), measuredBodies(), onStart);
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { url },
      argv: process.argv.slice(2),
      execArgv: ['--import', 'tsx'],
    });
    w.on('message', (m: Result | 'start') => (m === 'start' ? onStart() : resolve(m)));
    w.once('error', reject);
  });
}

/**
 * CPU a server spent per 1,000 samples, ms: less sensitive than samples/s to the other work on
 * a shared machine, since waiting for a core costs no CPU.
 */
function cpuLine(name: string, serverCpuMs: number): string {
  return `${name} CPU ${((serverCpuMs / (SERIES * ROUNDS)) * 1000).toFixed(2)} ms per 1,000 samples`;
}

/** Prometheus's process_cpu_seconds_total, ms. */
async function promCpuMs(url: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN) * 1000;
}

if (!isMainThread) {
  const { url } = workerData as { url: string };
  parentPort?.postMessage(await drive(url, warmupBodies(), measuredBodies(), () => parentPort?.postMessage('start')));
} else {
  console.log(
    `receive-throughput: ${SERIES} series × ${ROUNDS} rounds (after a warm-up of ${WARMUP_SERIES} other series × ${WARMUP_ROUNDS}) = ${(SERIES * ROUNDS).toLocaleString('en')} samples, ${PER_REQUEST} samples/request, ${INFLIGHT} in flight, client ${CLIENT_ON_MAIN ? 'on the main thread' : 'in a worker thread'}, node ${process.version}`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'receive-bench-'));
  try {
    const jsMemory = () => {
      global.gc?.();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const memBefore = jsMemory();
    const ports = await Promise.all(Array.from({ length: RF }, () => freePort()));
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    const receivers = addrs.map((a, i) =>
      createReceiver({
        tsdbPath: join(dir, `receive-${i}`),
        remoteWriteAddress: i === 0 ? '127.0.0.1:0' : undefined,
        flushIntervalMs: 0,
        httpGracePeriodMs: 0,
        ...(WORKERS >= 0 ? { ingestWorkers: WORKERS } : {}),
        ...(WORKER_MIN_BYTES >= 0 ? { ingestWorkerMinBytes: WORKER_MIN_BYTES } : {}),
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
    // Ingest workers come online after start() (requests decode inline until then): wait, so the
    // measured rounds run on them.
    for (let i = 0; WORKERS !== 0 && i < 500; i++) {
      const text = await (receivers[0] as (typeof receivers)[number]).registry.metrics();
      if (Number(/^thanos_receive_ingest_workers (\S+)$/m.exec(text)?.[1] ?? 0) > 0) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    const receiver = receivers[0] as (typeof receivers)[0];
    // The whole process's CPU minus the load generator's thread: the receiver's share.
    let cpuStart = process.cpuUsage();
    const ours = await driveFrom(`http://${receiver.remoteWriteAddress}/api/v1/receive`, () => {
      cpuStart = process.cpuUsage();
    });
    const cpuUsed = process.cpuUsage(cpuStart);
    const ourCpuMs = (cpuUsed.user + cpuUsed.system) / 1000 - ours.clientCpuMs;
    const memPerSeries = (jsMemory() - memBefore) / (SERIES + WARMUP_SERIES);
    console.log(
      line(
        RF > 1 ? `thanos-ts receiver RF=${RF}` : 'thanos-ts receiver',
        ours,
        `  heap+buffers/series ${global.gc && !CLIENT_ON_MAIN ? `${Math.round(memPerSeries)} B` : 'n/a (needs --expose-gc, client in a worker)'}`,
      ),
    );
    if (!CLIENT_ON_MAIN) console.log(cpuLine('thanos-ts receiver', ourCpuMs));
    for (const r of receivers) await r.close();
    if (WITH_PROM && RF === 1) {
      const prom = await startPrometheus({ dataDir: join(dir, 'prom') });
      try {
        const before = await promMemory(prom.url);
        let promCpuStart = Promise.resolve(Number.NaN);
        const theirs = await driveFrom(`${prom.url}/api/v1/write`, () => {
          promCpuStart = promCpuMs(prom.url);
        });
        const promCpu = (await promCpuMs(prom.url)) - (await promCpuStart);
        const after = await promMemory(prom.url);
        console.log(
          line(
            'prometheus 2.42',
            theirs,
            `  heap/series ${Math.round((after.heap - before.heap) / (SERIES + WARMUP_SERIES))} B, rss/series ${Math.round((after.rss - before.rss) / (SERIES + WARMUP_SERIES))} B`,
          ),
        );
        console.log(cpuLine('prometheus 2.42', promCpu));
        console.log(`ratio thanos-ts/prometheus: ${(ours.samplesPerSec / theirs.samplesPerSec).toFixed(2)}`);
      } finally {
        await prom.stop();
      }
    } else console.log('prometheus 2.42: skipped (binary not found, --prometheus=0 or --rf > 1)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
