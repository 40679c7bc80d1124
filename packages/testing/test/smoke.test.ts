import { readdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blocksFromOpenMetrics,
  generateOpenMetrics,
  generateSeries,
  programAvailable,
  promtool,
  type RunningService,
  removeTempDir,
  startAlertmanager,
  startMemcached,
  startPrometheus,
  startRedis,
  startS3rver,
} from '../src/index.js';

/** Sends one request over a fresh TCP connection and collects the reply until `done` says so. */
function tcpExchange(port: number, request: string, done: (reply: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(reply)}`));
    });
    socket.on('data', (d) => {
      reply += d.toString('utf8');
      if (done(reply)) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.connect(port, '127.0.0.1', () => socket.write(request));
  });
}

describe('generator', () => {
  it('is deterministic and realistic', () => {
    const a = generateSeries({ seed: 7, metrics: 6, seriesPerMetric: 5, jitterMs: 2000 });
    const b = generateSeries({ seed: 7, metrics: 6, seriesPerMetric: 5, jitterMs: 2000 });
    expect(a).toEqual(b);
    expect(generateSeries({ seed: 8, metrics: 6, seriesPerMetric: 5 })).not.toEqual(a);
    const names = new Set(a.map((s) => s.labels.__name__));
    expect(names.has('gen_counter_0_total')).toBe(true);
    expect(names.has('gen_histogram_2_bucket')).toBe(true);
    expect(names.has('gen_histogram_2_count')).toBe(true);
    const values = a.flatMap((s) => s.values);
    expect(values.some((v) => Number.isNaN(v))).toBe(true);
    expect(values.includes(Number.POSITIVE_INFINITY)).toBe(true);
    const counter = a.find((s) => s.labels.__name__ === 'gen_counter_0_total')!;
    for (const s of a)
      for (let i = 1; i < s.timestamps.length; i++) expect(s.timestamps[i]).toBeGreaterThan(s.timestamps[i - 1]!);
    expect(counter.timestamps.some((t) => t % 1000 !== 0)).toBe(true);
    const text = generateOpenMetrics({ metrics: 3, seriesPerMetric: 1, durationMs: 60_000 });
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE gen_histogram_2 histogram');
  });
});

describe.skipIf(!programAvailable('promtool'))('promtool', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  it('builds blocks from generated data that dump back to the generated samples', async () => {
    const made = await blocksFromOpenMetrics({
      seed: 3,
      metrics: 3,
      seriesPerMetric: 2,
      durationMs: 3 * 3600_000,
      jitterMs: 3000,
    });
    dirs.push(made.dir);
    const blocks = (await readdir(made.dir)).filter((d) => /^[0-9A-Z]{26}$/.test(d));
    expect(blocks.length).toBeGreaterThanOrEqual(2); // 3h of data crosses a 2h boundary
    const dump = await promtool.dump(made.dir);
    const lines = dump.trim().split('\n');
    expect(lines.length).toBe(made.samples);
    // Timestamps promtool stored are exactly the generator's.
    const first = made.data.find((s) => s.labels.__name__ === 'gen_counter_0_total' && s.labels.shard === '0')!;
    const dumped = lines
      .filter((l) => l.startsWith('{__name__="gen_counter_0_total"') && l.includes('shard="0"'))
      .map((l) => Number(l.split(' ').at(-1)))
      .sort((x, y) => x - y);
    expect(dumped).toEqual(first.timestamps);
    await expect(promtool.analyze(made.dir)).resolves.toContain('Block ID');
  });
});

describe.skipIf(!programAvailable('prometheus'))('prometheus', () => {
  it('answers vector(1) over HTTP and through promtool', async () => {
    const prom = await startPrometheus({ config: 'global:\n  external_labels:\n    replica: a\n' });
    try {
      const res = await fetch(`${prom.url}/api/v1/query?query=vector(1)`);
      const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
      expect(body.status).toBe('success');
      expect(body.data.result[0]?.value[1]).toBe('1');
      expect(await promtool.queryInstant(prom.url, 'vector(1)')).toContain('=> 1');
      const cfg = (await (await fetch(`${prom.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
      expect(cfg.data.yaml).toContain('replica: a');
    } finally {
      await prom.stop();
    }
    expect(() => process.kill(prom.pid, 0)).toThrow();
  });
});

describe.skipIf(!programAvailable('alertmanager'))('alertmanager', () => {
  it('answers its v2 API', async () => {
    const am = await startAlertmanager();
    try {
      const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as { versionInfo: { version: string } };
      expect(status.versionInfo.version).toMatch(/\d+\.\d+/);
      const alerts = await (await fetch(`${am.url}/api/v2/alerts`)).json();
      expect(alerts).toEqual([]);
    } finally {
      await am.stop();
    }
  });
});

describe.skipIf(!programAvailable('memcached'))('memcached', () => {
  it('sets and gets a value', async () => {
    const mc: RunningService = await startMemcached();
    try {
      expect(await tcpExchange(mc.port, 'set k 0 0 5\r\nhello\r\n', (r) => r.includes('\r\n'))).toBe('STORED\r\n');
      expect(await tcpExchange(mc.port, 'get k\r\n', (r) => r.endsWith('END\r\n'))).toBe(
        'VALUE k 0 5\r\nhello\r\nEND\r\n',
      );
    } finally {
      await mc.stop();
    }
  });
});

describe.skipIf(!programAvailable('redis-server'))('redis', () => {
  it('sets and gets a value', async () => {
    const redis = await startRedis();
    try {
      expect(await tcpExchange(redis.port, 'SET k hello\r\n', (r) => r.endsWith('\r\n'))).toBe('+OK\r\n');
      expect(await tcpExchange(redis.port, 'GET k\r\n', (r) => r.endsWith('hello\r\n'))).toBe('$5\r\nhello\r\n');
    } finally {
      await redis.stop();
    }
  });
});

describe('s3rver', () => {
  it('round-trips an object', async () => {
    const s3 = await startS3rver({ bucket: 'smoke' });
    try {
      const url = `${s3.endpoint}/smoke/dir/object.bin`;
      const body = new Uint8Array([0, 1, 2, 250, 251, 252]);
      const put = await fetch(url, { method: 'PUT', body });
      expect(put.status).toBe(200);
      const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
      expect([...got]).toEqual([...body]);
      const files = await readdir(join(s3.dir, 'data'));
      expect(files).toContain('smoke');
    } finally {
      await s3.stop();
    }
  });
});
