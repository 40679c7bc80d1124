/** Go's math.NaN() bit pattern, 0x7ff8000000000001, which the golden chunks contain. */
export const GO_NAN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0] as number;

/**
 * A tiny block written by promtool 2.42 (`tsdb create-blocks-from openmetrics`), kept as golden
 * bytes for the format tests. Input:
 */
export const SMALL_OPENMETRICS = `# HELP foo_total A counter
# TYPE foo_total counter
foo_total{a="x<&>",b="y"} 1 1700000000
foo_total{a="x<&>",b="y"} 2.5 1700000015.5
foo_total{a="z"} +Inf 1700000000
bar 1e-300 1700000000.001
bar NaN 1700000030
# EOF
`;

/** Series of SMALL_OPENMETRICS in label order, with the NaN bits Go's parser produces. */
export const SMALL_SERIES: { labels: Record<string, string>; samples: [number, number][] }[] = [
  {
    labels: { __name__: 'bar' },
    samples: [
      [1700000000001, 1e-300],
      [1700000030000, GO_NAN],
    ],
  },
  {
    labels: { __name__: 'foo_total', a: 'x<&>', b: 'y' },
    samples: [
      [1700000000000, 1],
      [1700000015500, 2.5],
    ],
  },
  { labels: { __name__: 'foo_total', a: 'z' }, samples: [[1700000000000, Number.POSITIVE_INFINITY]] },
];

/** chunks/000001 of that block. */
export const SMALL_CHUNKS_HEX =
  '85bd40dd010000001d01000282a0abfef96201a56e1fc2f8f359afea01c3e7e5d6e1fc2f8f3580287c62081601000280a0abfef9623ff00000000000008c79c26fff407946b5e01101000180a0abfef9627ff0000000000000002cbac9d9';

/** index of that block. */
export const SMALL_INDEX_HEX =
  'baaad70002000000290000000900085f5f6e616d655f5f016101620362617209666f6f5f746f74616c04783c263e0179017a1899ec64000000000000000000000e0101040182a0abfef962afea0108fddf4b9f0000000000000000000000000011030105020603070180a0abfef9628c792be5b54397000000000000000000000e02010502080180a0abfef96200473a5847c60000000010000000010000000200000004000000054a87d2420000001000000001000000020000000600000008858d41c90000000c000000010000000100000007338568520000001000000003000000040000000600000008d777295100000008000000010000000473a34a390000000c000000020000000600000008dc4f561b00000008000000010000000692983ace0000000800000001000000083ee085e900000008000000010000000692983ace0000001a0000000301085f5f6e616d655f5f9401010161ac01010162c40175a517b90000004700000006020000d80102085f5f6e616d655f5f03626172f00102085f5f6e616d655f5f09666f6f5f746f74616c800202016104783c263e9402020161017aa4020201620179b40250f9f60d000000000000000500000000000000360000000000000093000000000000014400000000000000d8000000000000016691471a66';

/** tombstones of that block (the empty tombstones file). */
export const SMALL_TOMBSTONES_HEX = '0130ba300100000000';

/** Output of `promtool tsdb dump` on that block. */
export const SMALL_DUMP = `{__name__="bar"} 1e-300 1700000000001
{__name__="bar"} NaN 1700000030000
{__name__="foo_total", a="x<&>", b="y"} 1 1700000000000
{__name__="foo_total", a="x<&>", b="y"} 2.5 1700000015500
{__name__="foo_total", a="z"} +Inf 1700000000000
`;
