import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, parsePromDuration } from '@thanos-ts/tsdb/goformat';

/** A Prometheus-style duration flag (`30s`, `5m`, `1h30m`, `0s`) in ms; errors name the flag. */
export function durationFlag(value: string, flag: string): number {
  try {
    return parsePromDuration(value);
  } catch (err) {
    if (!(err instanceof DurationSyntaxError)) throw err;
    throw new InvalidArgumentError(`--${flag}: invalid duration ${JSON.stringify(value)} (want e.g. 30s, 5m, 2h)`);
  }
}

/** An integer flag of at least `min`; errors name the flag. */
export function intFlag(value: string, flag: string, min: number): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min) {
    throw new InvalidArgumentError(`--${flag}: want an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A `host:port` listen address flag (Thanos's --http-address/--grpc-address form). */
export function listenAddressFlag(value: string, flag: string): string {
  if (
    !/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]*):\d{1,5}$/.test(value) ||
    Number(value.slice(value.lastIndexOf(':') + 1)) > 65535
  ) {
    throw new InvalidArgumentError(`--${flag}: want host:port, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Collects a repeatable flag's values; Thanos also accepts comma-separated lists for some. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
