import type { Labels } from '@thanos-ts/tsdb';
import { xxhash64 } from '../cache/xxhash.js';
import type { ShardInfo } from './store-api.js';

// Vertical query sharding over series (Thanos's storepb.ShardInfo and ShardMatcher): the query
// frontend sends each shard of a query with `shard_info`; the querier passes it to the stores and
// drops the other shards' series itself for stores that cannot.

/**
 * Reads a `shard_info` form value (the querier's side of {@link encodeShardInfo}); undefined for
 * an empty value. Throws with Thanos's text when it is not a ShardInfo JSON object.
 */
export function parseShardInfo(value: string): ShardInfo | undefined {
  if (value === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    throw new Error(`could not unmarshal parameter shard_info: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('could not unmarshal parameter shard_info: not a JSON object');
  const d = doc as Record<string, unknown>;
  const int = (v: unknown) => (v === undefined || v === null ? 0 : Number(v));
  const shardIndex = int(d.shard_index);
  const totalShards = int(d.total_shards);
  if (!Number.isInteger(shardIndex) || !Number.isInteger(totalShards))
    throw new Error('could not unmarshal parameter shard_info: shard_index and total_shards must be integers');
  const labels = Array.isArray(d.labels) ? d.labels.map(String) : [];
  return { shardIndex, totalShards, by: d.by === true, labels };
}

const SEP = 0xff;
const utf8 = new TextEncoder();

/**
 * Whether a series belongs to a shard (Thanos's storepb.ShardMatcher): XXH64 over
 * `name 0xff value 0xff` of the sharding labels (`by`) or of every other label (`without`), in
 * label order, modulo the shard count. Every series matches an unsharded request (no shard or
 * `totalShards` < 1). `labels` is the series' label set (any order; hashed sorted by name).
 */
export function matchesShard(labels: Readonly<Record<string, string>>, shard: ShardInfo | undefined): boolean {
  if (!shard || shard.totalShards < 1) return true;
  const set = new Set(shard.labels);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const name of Object.keys(labels).sort()) {
    if (set.has(name) !== shard.by) continue;
    const n = utf8.encode(name);
    const v = utf8.encode(labels[name] as string);
    parts.push(n, v);
    size += n.length + v.length + 2;
  }
  const buf = new Uint8Array(size);
  let off = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const n = parts[i] as Uint8Array;
    const v = parts[i + 1] as Uint8Array;
    buf.set(n, off);
    off += n.length;
    buf[off++] = SEP;
    buf.set(v, off);
    off += v.length;
    buf[off++] = SEP;
  }
  return xxhash64(buf) % BigInt(shard.totalShards) === BigInt(shard.shardIndex);
}

/**
 * A matcher of one shard over label sets, for stores that shard themselves: the same hash as
 * {@link matchesShard} (so a store and the querier's proxy put every series in the same shard),
 * without building a record per series and with one reused byte buffer. `labels` are the labels
 * the store serves (external labels added, `withoutReplicaLabels` dropped). Undefined when every
 * series matches (no shard, or `totalShards` < 1). Not safe to share between concurrent requests.
 */
export function shardMatcher(shard: ShardInfo | undefined): ((labels: Labels) => boolean) | undefined {
  if (!shard || shard.totalShards < 1) return undefined;
  const set = new Set(shard.labels);
  const total = BigInt(shard.totalShards);
  const index = BigInt(shard.shardIndex);
  let buf = new Uint8Array(256);
  return (labels) => {
    const flat = labels.toFlat();
    let off = 0;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string;
      if (set.has(name) !== shard.by) continue;
      const value = flat[i + 1] as string;
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      const need = off + 3 * (name.length + value.length) + 2;
      if (need > buf.length) {
        const bigger = new Uint8Array(Math.max(need, buf.length * 2));
        bigger.set(buf.subarray(0, off));
        buf = bigger;
      }
      off += utf8.encodeInto(name, buf.subarray(off)).written;
      buf[off++] = SEP;
      off += utf8.encodeInto(value, buf.subarray(off)).written;
      buf[off++] = SEP;
    }
    return xxhash64(buf.subarray(0, off)) % total === index;
  };
}
