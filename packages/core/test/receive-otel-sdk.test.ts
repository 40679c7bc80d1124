// The OpenTelemetry JS SDK's own OTLP/HTTP protobuf metrics exporter as the sender: a counter, an
// up-down counter, a gauge and a histogram recorded with the SDK arrive at the receiver's
// /api/v1/otlp under Prometheus names (Thanos's translation with suffixes) with target_info.
// The SDK packages are in the workspace's node_modules (transitively) but not declared by core:
// the test skips loudly when they cannot be loaded.
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createReceiver, type Receiver } from '../src/receive/index.js';

type SDK = {
  metrics: typeof import('@opentelemetry/sdk-metrics');
  exporter: typeof import('@opentelemetry/exporter-metrics-otlp-proto');
  resources: typeof import('@opentelemetry/resources');
};

async function loadSDK(): Promise<SDK | undefined> {
  try {
    return {
      metrics: await import('@opentelemetry/sdk-metrics'),
      exporter: await import('@opentelemetry/exporter-metrics-otlp-proto'),
      resources: await import('@opentelemetry/resources'),
    };
  } catch (err) {
    console.warn(`SKIPPED: receive-otel-sdk.test.ts cannot load the OpenTelemetry SDK: ${(err as Error).message}`);
    return undefined;
  }
}

const sdk = await loadSDK();

describe.skipIf(!sdk)('OTLP from the OpenTelemetry JS SDK exporter', () => {
  let dir: string;
  let receiver: Receiver;
  let querier: Querier;

  beforeAll(async () => {
    dir = await makeTempDir('receive-otel-');
    receiver = createReceiver({
      tsdbPath: join(dir, 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
    });
    await receiver.start();
    querier = createQuerier({ endpoints: [receiver] });
    await querier.start();
  });

  afterAll(async () => {
    await querier?.close();
    await receiver?.close();
    if (dir) await removeTempDir(dir);
  });

  it('stores what the SDK exports, named as Thanos names it', async () => {
    const { metrics, exporter, resources } = sdk as SDK;
    const reader = new metrics.PeriodicExportingMetricReader({
      exporter: new exporter.OTLPMetricExporter({ url: `http://${receiver.remoteWriteAddress}/api/v1/otlp` }),
      exportIntervalMillis: 60_000,
    });
    const provider = new metrics.MeterProvider({
      resource: resources.resourceFromAttributes({
        'service.name': 'shop',
        'service.instance.id': 'i-1',
        'host.arch': 'amd64',
      }),
      readers: [reader],
    });
    const meter = provider.getMeter('receive-test');
    meter.createCounter('orders.placed', { unit: '{order}' }).add(5, { region: 'eu' });
    meter.createUpDownCounter('queue.depth').add(7);
    meter.createGauge('temperature', { unit: 'Cel' }).record(21.5);
    const h = meter.createHistogram('checkout.duration', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    for (const v of [5, 50, 500]) h.record(v);
    await reader.forceFlush();
    await provider.shutdown();

    const at = Date.now();
    const res = await querier.instantQuery('{job="shop"}', at);
    const got: Record<string, number> = {};
    if (res.result.type === 'vector')
      for (const s of res.result.samples) {
        const m = s.metric.toRecord();
        expect(m.instance).toBe('i-1');
        expect(m.tenant_id).toBe('default-tenant');
        const extra = Object.entries(m)
          .filter(([k]) => !['__name__', 'job', 'instance', 'tenant_id'].includes(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        got[`${m.__name__}{${extra}}`] = s.f;
      }
    expect(got).toEqual({
      'orders_placed_total{region=eu}': 5,
      'queue_depth{}': 7,
      'temperature_celsius{}': 21.5,
      'checkout_duration_milliseconds_bucket{le=10}': 1,
      'checkout_duration_milliseconds_bucket{le=100}': 2,
      'checkout_duration_milliseconds_bucket{le=+Inf}': 3,
      'checkout_duration_milliseconds_count{}': 3,
      'checkout_duration_milliseconds_sum{}': 555,
      'target_info{host_arch=amd64}': 1,
    });
  });
});
