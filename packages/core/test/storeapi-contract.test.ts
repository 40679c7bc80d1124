// Every StoreAPI in thanos-ts against the one contract suite (Thanos's store acceptance test).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadTsdbBlocks } from '@thanos-ts/core/block';
import { createQuerier } from '@thanos-ts/core/query';
import { createSidecar } from '@thanos-ts/core/sidecar';
import { createStoreGateway } from '@thanos-ts/core/store';
import { connectStoreAPI, createLocalStore } from '@thanos-ts/core/storeapi';
import { describeStoreAPI, type StoreAPIFixture } from '@thanos-ts/core/testing';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir, programAvailable, startPrometheus } from '@thanos-ts/testing';
import { createBlockQueryable, Labels, openBlock, openDB, writeBlock } from '@thanos-ts/tsdb';
import { describe, it } from 'vitest';
import { encodeWriteRequest, type PrompbTimeSeries } from '../src/sidecar/prompb/prompb.js';
import { snappyEncode } from '../src/sidecar/prompb/snappy.js';

/** Writes the fixture as one TSDB block under `dir` (series are already sorted by labels). */
async function writeFixtureBlock(fixture: StoreAPIFixture, dir: string): Promise<string> {
  const written = await writeBlock(
    fixture.series.map((s) => ({ labels: Labels.from(s.labels), timestamps: s.timestamps, values: s.values })),
    { outDir: dir },
  );
  if (!written) throw new Error('fixture block has no samples');
  return written.dir;
}

async function cleanupAll(...steps: (() => unknown)[]): Promise<void> {
  for (const step of steps) await step();
}

describeStoreAPI('local store over opened blocks (chunks as stored)', async (fixture) => {
  const dir = await makeTempDir('contract-local-');
  const block = await openBlock(await writeFixtureBlock(fixture, dir));
  return {
    store: createLocalStore({ blocks: [block], externalLabels: Labels.from(fixture.externalLabels) }),
    close: () =>
      cleanupAll(
        () => block.close(),
        () => rm(dir, { recursive: true, force: true }),
      ),
  };
});

describeStoreAPI('local store over a block queryable (chunks re-cut)', async (fixture) => {
  const dir = await makeTempDir('contract-queryable-');
  const block = await openBlock(await writeFixtureBlock(fixture, dir));
  return {
    store: createLocalStore({
      queryable: createBlockQueryable([block]),
      externalLabels: Labels.from(fixture.externalLabels),
    }),
    close: () =>
      cleanupAll(
        () => block.close(),
        () => rm(dir, { recursive: true, force: true }),
      ),
  };
});

describeStoreAPI('local store over a tsdb head (openDB)', async (fixture) => {
  const dir = await makeTempDir('contract-head-');
  const db = await openDB({ dir });
  const app = db.appender();
  for (const s of fixture.series) {
    let ref = app.append(Labels.from(s.labels), s.timestamps[0] as number, s.values[0] as number);
    for (let i = 1; i < s.timestamps.length; i++)
      ref = app.append(ref, s.timestamps[i] as number, s.values[i] as number);
  }
  await app.commit();
  return {
    store: createLocalStore({ queryable: db.queryable(), externalLabels: Labels.from(fixture.externalLabels) }),
    close: () =>
      cleanupAll(
        () => db.close(),
        () => rm(dir, { recursive: true, force: true }),
      ),
  };
});

/** A store gateway over a filesystem bucket holding the fixture as one uploaded block. */
async function startGateway(fixture: StoreAPIFixture, grpc: boolean) {
  const root = await makeTempDir('contract-gateway-');
  const tsdbDir = join(root, 'tsdb');
  await writeFixtureBlock(fixture, tsdbDir);
  const bucket = createFilesystemBucket({ directory: join(root, 'bucket') });
  await uploadTsdbBlocks(bucket, tsdbDir, { labels: { ...fixture.externalLabels }, source: 'test' });
  const gateway = createStoreGateway({
    bucket,
    dataDir: join(root, 'data'),
    syncIntervalMs: 0,
    ...(grpc ? { grpcAddress: '127.0.0.1:0' } : {}),
  });
  await gateway.start();
  return {
    gateway,
    close: () =>
      cleanupAll(
        () => gateway.close(),
        () => rm(root, { recursive: true, force: true }),
      ),
  };
}

describeStoreAPI('store gateway over a filesystem bucket', async (fixture) => {
  const { gateway, close } = await startGateway(fixture, false);
  return { store: gateway, close };
});

describeStoreAPI('store gateway over gRPC', async (fixture) => {
  const { gateway, close } = await startGateway(fixture, true);
  const client = connectStoreAPI(gateway.grpcAddress as string);
  return { store: client, close: () => cleanupAll(() => client.close(), close) };
});

describeStoreAPI(
  'querier as a StoreAPI over the store gateway',
  async (fixture) => {
    const { gateway, close } = await startGateway(fixture, false);
    const querier = createQuerier({ endpoints: [gateway] });
    await querier.start();
    return { store: querier, close: () => cleanupAll(() => querier.close(), close) };
  },
  { capabilities: { warnsWhenNoStoreMatches: true } },
);

/** Remote-write v1 of the whole fixture in one request (prompb.WriteRequest, snappy). */
async function remoteWrite(url: string, fixture: StoreAPIFixture): Promise<void> {
  const series: PrompbTimeSeries[] = fixture.series.map((s) => ({
    labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
    samples: s.timestamps.map((t, i) => ({ timestamp: t, value: s.values[i] as number })),
  }));
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body: Buffer.from(snappyEncode(encodeWriteRequest(series))),
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`remote write: ${res.status} ${await res.text()}`);
}

if (programAvailable('prometheus')) {
  describeStoreAPI('sidecar over Prometheus 2.42 (remote write in, remote read out)', async (fixture) => {
    const ext = Object.entries(fixture.externalLabels)
      .map(([k, v]) => `    ${k}: ${v}\n`)
      .join('');
    const prom = await startPrometheus({ config: `global:\n  scrape_interval: 15s\n  external_labels:\n${ext}` });
    try {
      await remoteWrite(prom.url, fixture);
      const sidecar = createSidecar({ prometheusUrl: prom.url, tsdbPath: prom.dataDir, readyTimeoutMs: 30_000 });
      await sidecar.start();
      return {
        store: sidecar,
        close: () =>
          cleanupAll(
            () => sidecar.close(),
            () => prom.stop(),
          ),
      };
    } catch (err) {
      await prom.stop();
      throw err;
    }
  });
} else {
  describe('StoreAPI contract: sidecar over Prometheus 2.42', () => {
    it('needs the prometheus binary', () => {
      if (process.env.THANOS_TS_E2E === '1') throw new Error('prometheus not installed but THANOS_TS_E2E=1');
      console.warn('SKIPPED: sidecar StoreAPI contract, prometheus binary not on PATH');
    });
  });
}
