// `thanos-ts receive` as a real process, SIGKILLed while it is being written to: by a client of
// ours that records which requests were acknowledged (200), and by Prometheus 2.42 remote-writing
// its own scrapes. After a restart on the same directory (WAL replay) every acknowledged sample is
// served, and once Prometheus has re-sent what failed during the outage the receiver holds exactly
// Prometheus's own samples of `up`: no gap.
import { join } from 'node:path';
import { createQuerier, type Querier } from '@thanos-ts/core';
import { encodeWriteRequest } from '@thanos-ts/core/receive';
import {
  freePort,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from './cli-process.js';

const E2E = process.env.THANOS_TS_E2E === '1';
const HAVE_PROMETHEUS = programAvailable('prometheus');
if (!E2E || !HAVE_PROMETHEUS)
  console.warn('SKIPPED: receive-process.test.ts needs THANOS_TS_E2E=1 and the prometheus binary');

const READY = /msg="listening for remote write" address=(\S+)/;
const GRPC = /msg=listening http=\S+ grpc=(\S+)/;

describe.skipIf(!E2E || !HAVE_PROMETHEUS)('thanos-ts receive SIGKILLed under remote write', () => {
  let dir: string;
  let rwPort: number;
  let grpcPort: number;
  let proc: CliProcess | undefined;
  let prom: RunningPrometheus | undefined;
  let querier: Querier | undefined;

  /** The log of the process before the restart. */
  let earlierLog = '';
  const start = async () => {
    earlierLog += proc?.output() ?? '';
    const { proc: p, match } = await startCli(
      [
        'receive',
        `--tsdb.path=${join(dir, 'data')}`,
        `--remote-write.address=127.0.0.1:${rwPort}`,
        `--grpc-address=127.0.0.1:${grpcPort}`,
        '--http-address=127.0.0.1:0',
        '--label=receive="r0"',
        // Refused writes are logged at debug (as Thanos does): a failure below shows why.
        '--log.level=debug',
      ],
      READY,
    );
    proc = p;
    expect(match[1]).toBe(`127.0.0.1:${rwPort}`);
    expect(GRPC.exec(p.output())?.[1]).toBe(`127.0.0.1:${grpcPort}`);
  };

  beforeAll(async () => {
    dir = await makeTempDir('receive-process-');
    rwPort = await freePort();
    grpcPort = await freePort();
  });

  afterAll(async () => {
    await querier?.close();
    await prom?.stop();
    await proc?.stop('SIGKILL');
    if (dir) await removeTempDir(dir);
  });

  it('loses no acknowledged sample and no Prometheus sample across a SIGKILL and WAL replay', async () => {
    await start();
    const promPort = await freePort();
    prom = await startPrometheus({
      port: promPort,
      config: `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${promPort}']
remote_write:
  - url: http://127.0.0.1:${rwPort}/api/v1/receive
    queue_config:
      batch_send_deadline: 200ms
      min_backoff: 100ms
      max_backoff: 500ms
`,
    });
    const promStarted = Date.now();

    // Our writer: one sample per request of `acked` (value i at base + i × STEP) over 20 series, as
    // fast as the receiver answers; `acked` counts requests answered 200.
    const base = Date.now() - 30 * 60_000;
    // 100 ms apart, and never past now - 10 s: a fast receiver acknowledges thousands of requests
    // a second, and samples running hours ahead would move the head past Prometheus's own (which
    // it then refuses as out of bounds, and Prometheus drops for good).
    const STEP = 100;
    let acked = -1;
    let stop = false;
    let refused = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const ahead = base + i * STEP - (Date.now() - 10_000);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
        const body = compressSync(
          Buffer.from(
            encodeWriteRequest(
              Array.from({ length: 20 }, (_, s) => ({
                labels: [
                  { name: '__name__', value: 'acked' },
                  { name: 's', value: String(s) },
                ],
                timestamps: [base + i * STEP],
                values: [i],
                histograms: 0,
              })),
            ),
          ),
        );
        for (;;) {
          if (stop) return;
          try {
            const res = await fetch(`http://127.0.0.1:${rwPort}/api/v1/receive`, { method: 'POST', body });
            await res.text();
            if (res.status === 200) {
              acked = i;
              break;
            }
            refused++;
          } catch {
            refused++;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();

    await waitFor('200 acknowledged writes', async () => acked >= 200, 60_000);
    await new Promise((r) => setTimeout(r, 4_000));
    const ackedBeforeKill = acked;
    expect(await proc?.stop('SIGKILL')).toBeNull();
    const killedAt = Date.now();
    // Down for a few scrapes: Prometheus's sends fail and are retried, ours too.
    await new Promise((r) => setTimeout(r, 3_000));
    await start();
    const restartedAt = Date.now();
    await waitFor('writes resume', async () => acked > ackedBeforeKill + 20, 60_000);
    stop = true;
    await writer;
    expect(refused).toBeGreaterThan(0);

    querier = createQuerier({ endpoints: [`127.0.0.1:${grpcPort}`], endpointRefreshIntervalMs: 1_000 });
    await querier.start();
    const scalar = async (expr: string, at: number) => {
      const r = await querier?.instantQuery(expr, at);
      return r?.result.type === 'vector' ? (r.result.samples[0]?.f ?? 0) : Number.NaN;
    };
    // Every acknowledged sample of every series is served: i = 0…acked, nothing missing.
    await waitFor('querier sees the receiver', async () => (await scalar('count(acked)', base + STEP)) === 20, 30_000);
    const at = base + acked * STEP;
    expect(await scalar(`min(count_over_time(acked[${(acked + 1) * STEP}ms]))`, at)).toBe(acked + 1);
    expect(await scalar(`max(count_over_time(acked[${(acked + 1) * STEP}ms]))`, at)).toBe(acked + 1);
    expect(await scalar('min(max_over_time(acked[1h]))', at)).toBe(acked);

    // Prometheus has re-sent what failed while the receiver was down: its `up` samples between its
    // start and a point after the restart are all in the receiver, exactly.
    // A point after the restart (on a fast machine the checks above can finish within 2 s of it).
    const end = Math.max(Date.now() - 2_000, restartedAt + 1_000);
    await waitFor(
      'Prometheus has sent everything up to now',
      async () => {
        const res = await fetch(
          `${prom?.url}/api/v1/query?query=${encodeURIComponent('max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)')}`,
        );
        const v = ((await res.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1];
        return Number(v ?? 0) * 1000 > end + 1_000;
      },
      60_000,
    );
    const range = `${Math.ceil((end - promStarted) / 1000) + 10}s`;
    const res = await fetch(
      `${prom?.url}/api/v1/query?query=${encodeURIComponent(`count_over_time(up[${range}])`)}&time=${end / 1000}`,
    );
    const own = Number(
      ((await res.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1],
    );
    expect(end).toBeGreaterThan(restartedAt);
    // Prometheus scraped while the receiver was down, so those samples could only arrive by retry.
    const down = Math.floor((restartedAt - killedAt) / 1000);
    const during = await fetch(
      `${prom?.url}/api/v1/query?query=${encodeURIComponent(`count_over_time(up[${down}s])`)}&time=${restartedAt / 1000}`,
    );
    const duringVal = ((await during.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]
      ?.value[1];
    expect(Number(duringVal ?? 0)).toBeGreaterThan(0);
    // Prometheus's highest-sent timestamp is per queue, not per shard: another shard may still be
    // sending older samples, so wait for the counts to meet (and fail if they never do).
    let got = 0;
    try {
      await waitFor(
        `the receiver holds Prometheus's ${own} up samples`,
        async () => {
          got = await scalar(`count_over_time(up[${range}])`, end);
          return got >= own;
        },
        60_000,
      );
    } catch (err) {
      // Say which samples are missing and why Prometheus may have given up on them.
      const promMetric = async (q: string, at?: number) =>
        JSON.stringify(
          (
            (await (
              await fetch(`${prom?.url}/api/v1/query?query=${encodeURIComponent(q)}${at ? `&time=${at / 1000}` : ''}`)
            ).json()) as {
              data: unknown;
            }
          ).data,
        );
      const promUp = await promMetric(`up[${range}]`, end).catch(() => '?');
      const ours = await querier?.instantQuery(`up[${range}]`, end).catch(() => undefined);
      const counters = await promMetric(
        '{__name__=~"prometheus_remote_storage_(samples_failed|samples_retried|samples_dropped|samples_total|failed_samples|retried_samples)_total"}',
      ).catch(() => '?');
      const troubled = (earlierLog + (proc?.output() ?? ''))
        .split('\n')
        .filter((l) => /level=(warn|error)|write request rejected/.test(l));
      throw new Error(
        `${(err as Error).message}: got ${got}; prometheus up timestamps ${promUp}; receiver up timestamps ${JSON.stringify(ours?.result.type === 'matrix' ? ours.result.series.map((x) => Array.from(x.timestamps)) : ours?.result)}; prometheus counters ${counters}; receiver warnings ${troubled.slice(-20).join(' | ')}`,
      );
    }
    expect(got).toBe(own);
    const failed = await fetch(
      `${prom?.url}/api/v1/query?query=${encodeURIComponent('sum(prometheus_remote_storage_samples_failed_total)')}`,
    );
    // Connection errors are retried, never dropped: nothing failed for good.
    const failedVal = ((await failed.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]
      ?.value[1];
    expect(Number(failedVal ?? 0)).toBe(0);
  }, 240_000);
});
