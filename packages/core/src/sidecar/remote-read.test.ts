import { crc32c, Labels, XorEncoder, XorIterator } from '@thanos-ts/tsdb';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { WireDecodeError } from '../errors.js';
import { withExternalLabels } from './prometheus-store.js';
import { decodeChunkedReadResponse } from './prompb/chunked-series.js';
import { prompbTypes } from './prompb/prompb.js';
import { readChunkedFrames } from './remote-read.js';

/** Frames a message the way Prometheus's ChunkedWriter does: uvarint size, BE CRC32C, data. */
function frame(data: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(data.length);
  const head = w.finish();
  const out = new Uint8Array(head.length + 4 + data.length);
  out.set(head, 0);
  new DataView(out.buffer).setUint32(head.length, crc32c(data), false);
  out.set(data, head.length + 4);
  return out;
}

async function* pieces(buf: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const x of it) out.push(Uint8Array.from(x));
  return out;
}

function chunkedResponse(labels: Record<string, string>, samples: [number, number][][]): Uint8Array {
  const { ChunkedReadResponse } = prompbTypes();
  const chunks = samples.map((ss) => {
    const enc = new XorEncoder();
    for (const [t, v] of ss) enc.append(t, v);
    return { minTimeMs: ss[0]?.[0], maxTimeMs: ss.at(-1)?.[0], type: 1, data: enc.bytes() };
  });
  return ChunkedReadResponse.encode(
    ChunkedReadResponse.fromObject({
      chunkedSeries: [{ labels: Object.entries(labels).map(([name, value]) => ({ name, value })), chunks }],
      queryIndex: 0,
    }),
  ).finish();
}

describe('readChunkedFrames', () => {
  const a = new TextEncoder().encode('first frame');
  const b = new Uint8Array(70_000).map((_, i) => i % 251);
  const stream = new Uint8Array([...frame(a), ...frame(b), ...frame(new Uint8Array(0))]);

  it.each([1, 3, 7, 1000, 65_536, stream.length])('splits a stream arriving in %i-byte pieces', async (size) => {
    const frames = await collect(readChunkedFrames('test', pieces(stream, size)));
    expect(frames).toEqual([a, b, new Uint8Array(0)]);
  });

  it('rejects a checksum mismatch', async () => {
    const bad = Uint8Array.from(stream);
    bad[10] = (bad[10] as number) ^ 0xff;
    await expect(collect(readChunkedFrames('http://p/api/v1/read', pieces(bad, 100)))).rejects.toThrow(
      'remote read http://p/api/v1/read: corrupted frame: checksum mismatch',
    );
  });

  it('rejects a stream cut inside a frame', async () => {
    await expect(collect(readChunkedFrames('u', pieces(stream.subarray(0, 5000), 512)))).rejects.toMatchObject({
      code: 'CORE_REMOTE_READ',
      message: expect.stringContaining('stream ended inside a frame'),
    });
  });

  it('rejects a frame over the size limit before reading it', async () => {
    await expect(collect(readChunkedFrames('u', pieces(stream, 1 << 20), 1000))).rejects.toThrow(
      /frame of 70000 bytes exceeds the limit of 1000 bytes/,
    );
  });
});

describe('decodeChunkedReadResponse', () => {
  it('decodes labels and keeps chunk bytes as they are', () => {
    const samples: [number, number][][] = [
      [
        [1000, 1.5],
        [16_000, 2.5],
      ],
      [
        [-5000, Number.NaN],
        [2 ** 41, -0],
      ],
    ];
    const msg = chunkedResponse({ __name__: 'up', job: 'a "quoted" \\ value', ünï: 'cödé' }, samples);
    const resp = decodeChunkedReadResponse(msg);
    expect(resp.chunkedSeries).toHaveLength(1);
    const s = resp.chunkedSeries[0];
    expect(s?.labels).toEqual(['__name__', 'up', 'job', 'a "quoted" \\ value', 'ünï', 'cödé']);
    expect(s?.chunks.map((c) => [c.minTimeMs, c.maxTimeMs, c.type])).toEqual([
      [1000, 16_000, 1],
      [-5000, 2 ** 41, 1],
    ]);
    // The data is a view into the message, not a copy.
    expect(s?.chunks[0]?.data.buffer).toBe(msg.buffer);
    const it = new XorIterator(s?.chunks[1]?.data as Uint8Array);
    expect(it.next()).toBe(true);
    expect([it.t, Number.isNaN(it.v)]).toEqual([-5000, true]);
    expect(it.next()).toBe(true);
    expect([it.t, Object.is(it.v, -0)]).toEqual([2 ** 41, true]);
  });

  it('throws WireDecodeError on a truncated message', () => {
    const msg = chunkedResponse({ a: 'b' }, [[[1, 1]]]);
    expect(() => decodeChunkedReadResponse(msg.subarray(0, msg.length - 3))).toThrow(WireDecodeError);
  });
});

describe('withExternalLabels', () => {
  const flat = (r: Record<string, string>) => [...Labels.from(r).toFlat()];
  it.each([
    [{ a: '1', z: '2' }, { m: 'x' }, undefined, { a: '1', m: 'x', z: '2' }],
    [{ a: '1', replica: 'local' }, { replica: 'ext' }, undefined, { a: '1', replica: 'ext' }],
    [{ a: '1' }, { cluster: 'c', replica: 'r' }, ['replica'], { a: '1', cluster: 'c' }],
    [{}, { cluster: 'c' }, undefined, { cluster: 'c' }],
    [{ b: '1' }, {}, ['b'], {}],
  ])('%j + %j without %j', (series, ext, drop, want) => {
    expect(withExternalLabels(flat(series), flat(ext), drop ? new Set(drop) : undefined)).toEqual(flat(want));
  });
});
