// The StoreAPI contract suite (Thanos's store acceptance test) over the receiver (in-process and
// over gRPC), over the ruler's StoreAPI, and over limitStoreSeries wrapping a head store with
// limits that the fixture stays under. The receiver announces the fixture's external label as its
// tenant label: tenant "eu-west" under --receive.tenant-label-name=region, so every series carries
// exactly the fixture's external labels.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@thanos-ts/testing';
import { Labels, openDB } from '@thanos-ts/tsdb';
import { createReceiver } from '../src/receive/index.js';
import { createRuler } from '../src/rule/ruler.js';
import { limitStoreSeries } from '../src/store/limited-store.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { describeStoreAPI, type StoreAPIFixture } from '../src/testing/index.js';

/** The fixture's series as one in-process write (labels sorted, as remote write sends them). */
function fixtureWrite(fixture: StoreAPIFixture) {
  return fixture.series.map((s) => ({
    labels: Object.entries(s.labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    timestamps: [...s.timestamps],
    values: [...s.values],
    histograms: 0,
  }));
}

function tenantOf(fixture: StoreAPIFixture): { label: string; tenant: string } {
  const [entry] = Object.entries(fixture.externalLabels);
  if (!entry || Object.keys(fixture.externalLabels).length !== 1)
    throw new Error('the receiver contract setup expects exactly one external label');
  return { label: entry[0], tenant: entry[1] };
}

async function startReceiver(fixture: StoreAPIFixture, grpc: boolean) {
  const dir = await makeTempDir('contract-receive-');
  const { label, tenant } = tenantOf(fixture);
  const receiver = createReceiver({
    tsdbPath: join(dir, 'data'),
    tenantLabelName: label,
    defaultTenantId: tenant,
    flushIntervalMs: 0,
    ...(grpc ? { grpcAddress: '127.0.0.1:0', grpcGracePeriodMs: 0 } : {}),
  });
  await receiver.start();
  await receiver.write({ timeseries: fixtureWrite(fixture) });
  return {
    receiver,
    close: async () => {
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeStoreAPI('receiver (one tenant, head)', async (fixture) => {
  const { receiver, close } = await startReceiver(fixture, false);
  return { store: receiver, close };
});

describeStoreAPI('receiver over gRPC', async (fixture) => {
  const { receiver, close } = await startReceiver(fixture, true);
  const client = connectStoreAPI(receiver.grpcAddress as string);
  return {
    store: client,
    close: async () => {
      client.close();
      await close();
    },
  };
});

describeStoreAPI('receiver after a restart (WAL replayed)', async (fixture) => {
  const root = await makeTempDir('contract-receive-restart-');
  const { label, tenant } = tenantOf(fixture);
  const opts = { tsdbPath: join(root, 'data'), tenantLabelName: label, defaultTenantId: tenant, flushIntervalMs: 0 };
  const first = createReceiver(opts);
  await first.start();
  await first.write({ timeseries: fixtureWrite(fixture) });
  await first.close();
  const second = createReceiver(opts);
  await second.start();
  return {
    store: second,
    close: async () => {
      await second.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describeStoreAPI('ruler StoreAPI (its TSDB holding the fixture)', async (fixture) => {
  const dir = await makeTempDir('contract-rule-');
  // The ruler's TSDB is written beforehand (as its rules would have) and replayed at start.
  const db = await openDB({ dir });
  const app = db.appender();
  for (const s of fixture.series) {
    let ref = app.append(Labels.from(s.labels), s.timestamps[0] as number, s.values[0] as number);
    for (let i = 1; i < s.timestamps.length; i++)
      ref = app.append(ref, s.timestamps[i] as number, s.values[i] as number);
  }
  await app.commit();
  await db.close();
  const ruler = createRuler({
    ruleFiles: [],
    dataDir: dir,
    externalLabels: { ...fixture.externalLabels },
    // No rules, so nothing is ever queried.
    query: () => Promise.reject(new Error('the contract ruler has no rules to evaluate')),
    shipIntervalMs: 0,
  });
  await ruler.start();
  return {
    store: ruler,
    close: async () => {
      await ruler.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeStoreAPI('limitStoreSeries over a head store, limits not reached', async (fixture) => {
  const dir = await makeTempDir('contract-limited-');
  const db = await openDB({ dir });
  const app = db.appender();
  for (const s of fixture.series) {
    let ref = app.append(Labels.from(s.labels), s.timestamps[0] as number, s.values[0] as number);
    for (let i = 1; i < s.timestamps.length; i++)
      ref = app.append(ref, s.timestamps[i] as number, s.values[i] as number);
  }
  await app.commit();
  const inner = createLocalStore({ queryable: db.queryable(), externalLabels: Labels.from(fixture.externalLabels) });
  // Exactly the fixture's size: 7 series; samples are counted as 120 per chunk.
  const store = limitStoreSeries(inner, { seriesPerRequest: fixture.series.length, samplesPerRequest: 1_000_000 });
  return {
    store,
    close: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
