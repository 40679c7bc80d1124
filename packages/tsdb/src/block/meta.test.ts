import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { parseBlockMeta, readBlockMeta, serializeBlockMeta, writeBlockMeta } from './meta.js';

// Written by promtool 2.42 (tsdb create-blocks-from openmetrics), byte for byte.
const PROMTOOL_META = `{
\t"ulid": "01M89XKXWXC25Q8HX54RFWC3RM",
\t"minTime": 1700000000000,
\t"maxTime": 1700000030001,
\t"stats": {
\t\t"numSamples": 5,
\t\t"numSeries": 3,
\t\t"numChunks": 3
\t},
\t"compaction": {
\t\t"level": 1,
\t\t"sources": [
\t\t\t"01M89XKXWXC25Q8HX54RFWC3RM"
\t\t]
\t},
\t"version": 1
}`;

// Shape Thanos's metadata.Meta.Write produces (json.Encoder with tab indent, trailing newline).
const THANOS_META = `{
\t"ulid": "01M89XKXWXC25Q8HX54RFWC3RM",
\t"minTime": 1700000000000,
\t"maxTime": 1700007200000,
\t"stats": {
\t\t"numSamples": 240,
\t\t"numSeries": 2,
\t\t"numChunks": 2
\t},
\t"compaction": {
\t\t"level": 2,
\t\t"sources": [
\t\t\t"01M89XKXWXC25Q8HX54RFWC3RM"
\t\t],
\t\t"parents": [
\t\t\t{
\t\t\t\t"ulid": "01M89XKXWXC25Q8HX54RFWC3RM",
\t\t\t\t"minTime": 1700000000000,
\t\t\t\t"maxTime": 1700007200000
\t\t\t}
\t\t]
\t},
\t"version": 1,
\t"thanos": {
\t\t"labels": {
\t\t\t"cluster": "a\\u0026b",
\t\t\t"replica": "r0"
\t\t},
\t\t"downsample": {
\t\t\t"resolution": 300000
\t\t},
\t\t"source": "compactor",
\t\t"segment_files": [
\t\t\t"000001"
\t\t],
\t\t"files": [
\t\t\t{
\t\t\t\t"rel_path": "chunks/000001",
\t\t\t\t"size_bytes": 1234
\t\t\t},
\t\t\t{
\t\t\t\t"rel_path": "index",
\t\t\t\t"size_bytes": 567
\t\t\t},
\t\t\t{
\t\t\t\t"rel_path": "meta.json"
\t\t\t}
\t\t],
\t\t"index_stats": {
\t\t\t"series_max_size": 100,
\t\t\t"chunk_max_size": 200
\t\t}
\t}
}
`;

describe('block meta.json', () => {
  it.each([
    ['promtool', PROMTOOL_META],
    ['thanos', THANOS_META],
  ])('round-trips %s meta byte for byte', (_name, text) => {
    const meta = parseBlockMeta(text);
    expect(serializeBlockMeta(meta)).toBe(text);
  });

  it('parses fields', () => {
    const meta = parseBlockMeta(THANOS_META);
    expect(meta.thanos?.labels).toEqual({ cluster: 'a&b', replica: 'r0' });
    expect(meta.thanos?.downsample.resolution).toBe(300000);
    expect(meta.compaction.parents?.[0]?.maxTime).toBe(1700007200000);
    expect(meta.stats.numSamples).toBe(240);
  });

  it.each([
    ['not json', '{"ulid":', /invalid JSON/],
    ['array', '[]', /not a JSON object/],
    ['bad ulid', '{"ulid":"x","minTime":0,"maxTime":1,"compaction":{"level":1},"version":1}', /invalid ulid/],
    ['bad version', PROMTOOL_META.replace('"version": 1', '"version": 2'), /version 2/],
    ['string time', PROMTOOL_META.replace('1700000030001', '"1"'), /maxTime is not an integer/],
    ['no compaction', '{"ulid":"01M89XKXWXC25Q8HX54RFWC3RM","minTime":0,"maxTime":1,"version":1}', /compaction/],
    ['thanos version', THANOS_META.replace('"labels"', '"version": 7, "labels"'), /Thanos section version 7/],
  ])('rejects %s with a CorruptionError', (_name, text, re) => {
    let err: unknown;
    try {
      parseBlockMeta(text, 'blk/meta.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as CorruptionError).file).toBe('blk/meta.json');
    expect((err as Error).message).toMatch(re);
  });

  it('writes and reads a directory atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meta-'));
    await writeBlockMeta(dir, parseBlockMeta(PROMTOOL_META));
    expect(readFileSync(join(dir, 'meta.json'), 'utf8')).toBe(PROMTOOL_META);
    expect((await readBlockMeta(dir)).ulid).toBe('01M89XKXWXC25Q8HX54RFWC3RM');
    const empty = mkdtempSync(join(tmpdir(), 'meta-'));
    await expect(readBlockMeta(empty)).rejects.toThrow(CorruptionError);
    writeFileSync(join(empty, 'meta.json'), '');
    await expect(readBlockMeta(empty)).rejects.toThrow(/invalid JSON/);
  });
});
