/**
 * limit_ratio's sampling offset, as Prometheus's HashRatioSampler: the xxHash64 of the series'
 * label set (in Prometheus 3's default `stringlabels` byte layout) divided by 2^64-1, so the same
 * series are picked on every step and on every Prometheus.
 */
import type { Labels } from '@thanos-ts/tsdb';

const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, lane: bigint): bigint => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
const mergeRound = (acc: bigint, val: bigint): bigint => (((acc ^ round(0n, val)) * P1) & M) + P4;

/** xxHash64 (seed 0) of a byte array. */
export function xxhash64(b: Uint8Array): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = b.length;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (M + 1n - P1) & M;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, dv.getBigUint64(i, true));
      v2 = round(v2, dv.getBigUint64(i + 8, true));
      v3 = round(v3, dv.getBigUint64(i + 16, true));
      v4 = round(v4, dv.getBigUint64(i + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = mergeRound(h, v1) & M;
    h = mergeRound(h, v2) & M;
    h = mergeRound(h, v3) & M;
    h = mergeRound(h, v4) & M;
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M;
  for (; i + 8 <= len; i += 8) {
    h ^= round(0n, dv.getBigUint64(i, true));
    h = (rotl(h, 27n) * P1 + P4) & M;
  }
  if (i + 4 <= len) {
    h ^= (BigInt(dv.getUint32(i, true)) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < len; i++) {
    h ^= (BigInt(b[i] as number) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

const encoder = new TextEncoder();

/** Prometheus's `labels.Hash()` under the stringlabels layout: length-prefixed names and values. */
export function labelsHash(labels: Labels): bigint {
  const parts: number[] = [];
  const push = (s: string): void => {
    const bytes = encoder.encode(s);
    if (bytes.length < 255) parts.push(bytes.length);
    else parts.push(255, bytes.length & 0xff, (bytes.length >> 8) & 0xff, (bytes.length >> 16) & 0xff);
    for (const x of bytes) parts.push(x);
  };
  for (const l of labels) {
    push(l.name);
    push(l.value);
  }
  return xxhash64(Uint8Array.from(parts));
}

/** The series' offset in [0, 1] used by limit_ratio. */
export function hashRatioOffset(labels: Labels): number {
  return Number(labelsHash(labels)) / 2 ** 64;
}
