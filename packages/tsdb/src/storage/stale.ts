/**
 * Prometheus marks a series as ended with a special NaN (bits 0x7ff0000000000002), written by the
 * scraper and honoured by PromQL's lookback. Ordinary NaN samples are different values.
 */
export const STALE_NAN_BITS_HI = 0x7ff00000;
/** Low 32 bits of the staleness marker. */
export const STALE_NAN_BITS_LO = 0x00000002;

const scratch = new DataView(new ArrayBuffer(8));

/**
 * The staleness marker as a JS number. Its NaN payload survives Float64Array reads, writes and
 * copies, but NOT plain JS arrays (V8 canonicalizes NaN in double arrays): keep samples that may
 * hold markers in typed arrays only.
 */
export const STALE_NAN: number = (() => {
  scratch.setUint32(0, STALE_NAN_BITS_HI);
  scratch.setUint32(4, STALE_NAN_BITS_LO);
  return scratch.getFloat64(0);
})();

/** Whether `value` is the staleness marker (not just any NaN). */
export function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false; // fast path: not NaN at all
  scratch.setFloat64(0, value);
  return scratch.getUint32(0) === STALE_NAN_BITS_HI && scratch.getUint32(4) === STALE_NAN_BITS_LO;
}
