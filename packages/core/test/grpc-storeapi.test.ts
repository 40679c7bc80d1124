import { Client, credentials, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { Labels, matcher } from '@thanos-ts/tsdb';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStoreAPI, type RemoteStoreAPI } from '../src/storeapi/grpc-client.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import type { SeriesRequest, SeriesResponse, StoreAPI } from '../src/storeapi/store-api.js';

// An in-process StoreAPI generating `count` series on demand, counting what it produced so the
// test can see whether the server streams with backpressure or buffers everything.
interface Seen {
  produced: number;
  lastRequest?: SeriesRequest;
}

function generatingStore(count: number, seen: Seen): StoreAPI {
  return {
    async info() {
      return {
        labelSets: [Labels.from({ replica: 'a' })],
        minTime: 1000,
        maxTime: 9000,
        componentType: 'store',
        supportsWithoutReplicaLabels: true,
      };
    },
    async *series(req) {
      seen.lastRequest = req;
      // Each call counts into its own tally so a cancelled earlier call cannot disturb the next.
      const tally = { n: 0 };
      seen.produced = 0;
      const bump = () => {
        tally.n++;
        if (seen.lastRequest === req) seen.produced = tally.n;
      };
      for (let i = 0; i < count; i++) {
        bump();
        yield {
          type: 'series',
          series: {
            labels: Labels.from({ __name__: 'up', i: String(i).padStart(7, '0') }),
            chunks: [
              { minTime: 1000 + i, maxTime: 2000 + i, raw: { type: 'XOR', data: new Uint8Array([0, 1, i & 0xff]) } },
            ],
          },
        };
      }
      yield { type: 'warning', warning: 'store says hello' };
    },
    async labelNames(req) {
      return { names: ['__name__', 'i'], warnings: [`start=${req.start}`] };
    },
    async labelValues(req) {
      if (req.label === 'boom') throw new Error('exploded');
      return { values: [req.label], warnings: [] };
    },
  };
}

async function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

describe('StoreAPI over gRPC', () => {
  const seen: Seen = { produced: 0 };
  const server = new Server();
  let client: RemoteStoreAPI;
  let address: string;

  beforeAll(async () => {
    serveStoreAPI(generatingStore(100_000, seen), server);
    address = `127.0.0.1:${await bind(server)}`;
    client = connectStoreAPI(address);
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('round-trips Info, requests and label calls', async () => {
    const info = await client.info();
    expect(info.labelSets.map((l) => l.toRecord())).toEqual([{ replica: 'a' }]);
    expect([info.minTime, info.maxTime, info.componentType, info.supportsWithoutReplicaLabels]).toEqual([
      1000,
      9000,
      'store',
      true,
    ]);
    const names = await client.labelNames({ start: -5, end: 10 });
    expect(names).toEqual({ names: ['__name__', 'i'], warnings: ['start=-5'] });
    expect((await client.labelValues({ label: 'job', start: 0, end: 1 })).values).toEqual(['job']);
    await expect(client.labelValues({ label: 'boom', start: 0, end: 1 })).rejects.toThrow(/exploded/);
  });

  it('carries every SeriesRequest field', async () => {
    const req: SeriesRequest = {
      minTime: -(2 ** 63),
      maxTime: 2 ** 63,
      matchers: [
        matcher('=', '__name__', 'up'),
        matcher('=~', 'job', 'a|b'),
        matcher('!~', 'x', 'y.*'),
        matcher('!=', 'z', ''),
      ],
      maxResolutionWindow: 300000,
      aggregates: ['COUNT', 'SUM'],
      partialResponseStrategy: 'ABORT',
      partialResponseDisabled: true,
      skipChunks: true,
      step: 15000,
      range: 60000,
      queryHints: { stepMillis: 15000, func: 'rate', grouping: { by: true, labels: ['job'] }, rangeMillis: 60000 },
      withoutReplicaLabels: ['replica'],
      limit: 1,
      hints: { typeUrl: 'type.googleapis.com/hintspb.SeriesRequestHints', value: new Uint8Array([8, 1]) },
    };
    const it = client.series(req)[Symbol.asyncIterator]();
    await it.next();
    await it.return?.();
    const got = seen.lastRequest as SeriesRequest;
    expect(got.matchers.map((m) => m.toString())).toEqual(['__name__="up"', 'job=~"a|b"', 'x!~"y.*"', 'z!=""']);
    expect(got.minTime).toBe(-(2 ** 63));
    expect(got.maxTime).toBe(2 ** 63);
    expect(got.aggregates).toEqual(['COUNT', 'SUM']);
    expect([got.partialResponseStrategy, got.partialResponseDisabled, got.skipChunks]).toEqual(['ABORT', true, true]);
    expect(got.queryHints).toMatchObject({
      stepMillis: 15000,
      func: 'rate',
      grouping: { by: true, labels: ['job'] },
      rangeMillis: 60000,
    });
    expect([got.withoutReplicaLabels, got.limit, got.maxResolutionWindow, got.step, got.range]).toEqual([
      ['replica'],
      1,
      300000,
      15000,
      60000,
    ]);
    expect(got.hints?.typeUrl).toBe('type.googleapis.com/hintspb.SeriesRequestHints');
    expect(Array.from(got.hints?.value ?? [])).toEqual([8, 1]);
  });

  it('streams 100k series with backpressure and in order', async () => {
    const iter = client
      .series({ minTime: 0, maxTime: 10_000, matchers: [matcher('=', '__name__', 'up')] })
      [Symbol.asyncIterator]();
    // Consume a little, then stall: the server must stop producing once flow control is full.
    for (let i = 0; i < 10; i++) await iter.next();
    await new Promise((r) => setTimeout(r, 300));
    const producedWhileStalled = seen.produced;
    expect(producedWhileStalled).toBeLessThan(50_000);
    let count = 10;
    let last = '';
    let warning = '';
    for (;;) {
      const r = await iter.next();
      if (r.done) break;
      const v = r.value as SeriesResponse;
      if (v.type === 'warning') warning = v.warning;
      if (v.type !== 'series') continue;
      const key = v.series.labels.get('i');
      expect(key > last).toBe(true);
      last = key;
      count++;
    }
    expect(count).toBe(100_000);
    expect(warning).toBe('store says hello');
    expect(seen.produced).toBe(100_000);
  });

  it('stops the producer when the client stops early', async () => {
    let n = 0;
    for await (const r of client.series({ minTime: 0, maxTime: 10_000, matchers: [matcher('=', '__name__', 'up')] })) {
      if (r.type === 'series' && ++n === 5) break;
    }
    await new Promise((r) => setTimeout(r, 200));
    const after = seen.produced;
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.produced).toBe(after);
    expect(after).toBeLessThan(100_000);
  });

  it('sends SeriesBatch messages (field 4) when asked for response_batch_size', async () => {
    const raw = new Client(address, credentials.createInsecure());
    const first = await new Promise<Buffer>((resolve, reject) => {
      const w = protobuf.Writer.create();
      w.uint32((2 << 3) | 0).int64(10);
      w.uint32((3 << 3) | 2)
        .fork()
        .uint32((2 << 3) | 2)
        .string('__name__')
        .uint32((3 << 3) | 2)
        .string('up')
        .ldelim();
      w.uint32((16 << 3) | 0).int64(3); // response_batch_size = 3
      const call = raw.makeServerStreamRequest(
        '/thanos.Store/Series',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(w.finish()),
        new Metadata(),
        {},
      );
      call.once('data', (b: Buffer) => {
        call.cancel();
        resolve(b);
      });
      call.on('error', (e) => {
        if ((e as { code?: number }).code !== 1) reject(e);
      });
    });
    raw.close();
    const r = protobuf.Reader.create(first);
    expect(r.uint32()).toBe((4 << 3) | 2); // SeriesResponse.batch = 4
    const batch = protobuf.Reader.create(r.bytes());
    let series = 0;
    while (batch.pos < batch.len) {
      expect(batch.uint32()).toBe((1 << 3) | 2); // SeriesBatch.series = 1
      batch.skip(batch.uint32());
      series++;
    }
    expect(series).toBe(3);
  });

  // Decodes the raw bytes of a Series response with field numbers written out here, independent
  // of our .proto files, so a mistake in those would show.
  it('writes Thanos field numbers on the wire', async () => {
    const raw = new Client(address, credentials.createInsecure());
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      // SeriesRequest{min_time(1)=0, max_time(2)=10, matchers(3)=[{type(1)=EQ, name(2)="__name__", value(3)="up"}], limit(15)=1}
      const w = protobuf.Writer.create();
      w.uint32((1 << 3) | 0).int64(0);
      w.uint32((2 << 3) | 0).int64(10);
      w.uint32((3 << 3) | 2)
        .fork()
        .uint32((2 << 3) | 2)
        .string('__name__')
        .uint32((3 << 3) | 2)
        .string('up')
        .ldelim();
      w.uint32((15 << 3) | 0).int64(1);
      const call = raw.makeServerStreamRequest(
        '/thanos.Store/Series',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(w.finish()),
        new Metadata(),
        {},
      );
      call.once('data', (b: Buffer) => {
        call.cancel();
        resolve(b);
      });
      call.on('error', (e) => {
        if ((e as { code?: number }).code !== 1) reject(e);
      });
    });
    raw.close();
    const r = protobuf.Reader.create(bytes);
    const top = r.uint32();
    expect(top).toBe((1 << 3) | 2); // SeriesResponse.series = 1
    const series = protobuf.Reader.create(r.bytes());
    const labels: Record<string, string> = {};
    let chunk: { min?: number; max?: number; type?: number; data?: number[] } = {};
    while (series.pos < series.len) {
      const tag = series.uint32();
      const sub = protobuf.Reader.create(series.bytes());
      if (tag >>> 3 === 1) {
        let name = '';
        let value = '';
        while (sub.pos < sub.len) {
          const t = sub.uint32();
          if (t >>> 3 === 1) name = sub.string();
          else value = sub.string();
        }
        labels[name] = value;
      } else if (tag >>> 3 === 2) {
        while (sub.pos < sub.len) {
          const t = sub.uint32();
          if (t >>> 3 === 1) chunk.min = Number(sub.int64());
          else if (t >>> 3 === 2) chunk.max = Number(sub.int64());
          else if (t >>> 3 === 3) {
            const c = protobuf.Reader.create(sub.bytes());
            while (c.pos < c.len) {
              const ct = c.uint32();
              if (ct >>> 3 === 1) chunk.type = c.int32();
              else if (ct >>> 3 === 2) chunk.data = Array.from(c.bytes());
              else c.skipType(ct & 7);
            }
          } else sub.skipType(t & 7);
        }
      }
    }
    expect(labels).toEqual({ __name__: 'up', i: '0000000' });
    chunk = { ...chunk, type: chunk.type ?? 0 };
    expect(chunk).toEqual({ min: 1000, max: 2000, type: 0, data: [0, 1, 0] });
  });
});

describe('SeriesResponse decoder', () => {
  it('decodes what protobufjs encodes, field for field', async () => {
    const { thanosProtos } = await import('../src/storeapi/protos.js');
    const { decodeSeriesResponse } = await import('../src/storeapi/series-decoder.js');
    const { seriesResponsesFromPb, seriesResponseToPb } = await import('../src/storeapi/codec.js');
    const p = thanosProtos();
    const samples: SeriesResponse[] = [
      {
        type: 'series',
        series: {
          labels: Labels.from({ __name__: 'up', job: 'ünïcode ✓ 😀', z: 'x'.repeat(300) }),
          chunks: [
            { minTime: -(2 ** 63), maxTime: 2 ** 63, raw: { type: 'XOR', data: new Uint8Array([1, 2, 3]) } },
            {
              minTime: -5,
              maxTime: 1_700_000_000_123,
              count: { type: 'XOR', data: new Uint8Array([9]) },
              sum: { type: 'XOR', data: new Uint8Array(0) },
              counter: { type: 'HISTOGRAM', data: new Uint8Array([7]), hash: 18446744073709551615n },
            },
          ],
        },
      },
      { type: 'warning', warning: 'store 1: down' },
      {
        type: 'hints',
        hints: { typeUrl: 'type.googleapis.com/hintspb.SeriesResponseHints', value: new Uint8Array([10, 2, 8, 1]) },
      },
    ];
    const { encodeSeriesMessage } = await import('../src/storeapi/series-encoder.js');
    for (const s of samples) {
      // Our encoder's bytes decode (with protobufjs) to what protobufjs's own bytes decode to.
      const ourBytes = encodeSeriesMessage(s);
      const theirBytes = Buffer.from(p.SeriesResponse.encode(seriesResponseToPb(s)).finish());
      expect(p.SeriesResponse.toObject(p.SeriesResponse.decode(ourBytes), { longs: String, bytes: Array })).toEqual(
        p.SeriesResponse.toObject(p.SeriesResponse.decode(theirBytes), { longs: String, bytes: Array }),
      );
      const bytes = ourBytes;
      const ours = decodeSeriesResponse(bytes);
      const reference = seriesResponsesFromPb(p.SeriesResponse.decode(bytes));
      const plain = (x: unknown) =>
        JSON.parse(
          JSON.stringify(x, (_k, v) =>
            typeof v === 'bigint'
              ? v.toString()
              : v instanceof Uint8Array
                ? Array.from(v)
                : v?.type === 'Buffer'
                  ? v.data
                  : v,
          ),
        );
      expect(
        plain(
          ours.map((r) =>
            r.type === 'series' ? { ...r, series: { ...r.series, labels: r.series.labels.toString() } } : r,
          ),
        ),
      ).toEqual(
        plain(
          reference.map((r) =>
            r.type === 'series' ? { ...r, series: { ...r.series, labels: r.series.labels.toString() } } : r,
          ),
        ),
      );
    }
    const batchOfThree = encodeSeriesMessage({
      type: 'batch',
      series: [0, 1, 2].map((i) => ({ labels: Labels.from({ i: String(i) }), chunks: [] })),
    });
    expect(
      decodeSeriesResponse(batchOfThree).map((r) => (r.type === 'series' ? r.series.labels.get('i') : '')),
    ).toEqual(['0', '1', '2']);
    // A batch decodes into its series.
    const batch = Buffer.from(
      p.SeriesResponse.encode({
        batch: { series: [0, 1, 2].map((i) => ({ labels: [{ name: 'i', value: String(i) }], chunks: [] })) },
      }).finish(),
    );
    expect(decodeSeriesResponse(batch).map((r) => (r.type === 'series' ? r.series.labels.get('i') : ''))).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect(() => decodeSeriesResponse(Buffer.from([0x0a, 0x05, 0x0a]))).toThrow();
  });
});

describe('legacy Store.Info', () => {
  it('is used when an endpoint has no thanos.info.Info service (Thanos before v0.22)', async () => {
    const { storeServiceDefinition } = await import('../src/storeapi/services.js');
    const { legacyInfoToPb } = await import('../src/storeapi/codec.js');
    const server = new Server();
    // Only the Store service, as old Thanos sidecars expose it.
    server.addService(storeServiceDefinition(), {
      Info: (_call: unknown, cb: (err: null, res: unknown) => void) =>
        cb(
          null,
          legacyInfoToPb({
            labelSets: [Labels.from({ site: 'old' })],
            minTime: 5,
            maxTime: 10,
            componentType: 'sidecar',
          }),
        ),
      Series: (call: { end(): void }) => call.end(),
      LabelNames: (_call: unknown, cb: (err: null, res: unknown) => void) => cb(null, { names: [], warnings: [] }),
      LabelValues: (_call: unknown, cb: (err: null, res: unknown) => void) => cb(null, { values: [], warnings: [] }),
    });
    const port = await bind(server);
    const client = connectStoreAPI(`127.0.0.1:${port}`);
    const info = await client.info();
    expect([info.labelSets.map((l) => l.toRecord()), info.minTime, info.maxTime, info.componentType]).toEqual([
      [{ site: 'old' }],
      5,
      10,
      'sidecar',
    ]);
    client.close();
    server.forceShutdown();
  });
});
