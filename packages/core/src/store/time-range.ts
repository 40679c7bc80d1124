import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, parsePromDuration } from '@thanos-ts/tsdb/goformat';

/**
 * A time bound as Thanos's --min-time/--max-time take it (model.TimeOrDurationValue): an
 * RFC3339 timestamp, or a duration relative to now such as `-2w`, `-1d` or `2h45m`.
 */
export type TimeOrDuration = { kind: 'time'; ms: number } | { kind: 'duration'; ms: number };

/** Parses an RFC3339 time or a signed relative duration; errors name `flag`. */
export function parseTimeOrDuration(text: string, flag: string): TimeOrDuration {
  const s = text.trim();
  const sign = s.startsWith('-') ? -1 : 1;
  try {
    return { kind: 'duration', ms: sign * parsePromDuration(s.replace(/^[+-]/, '')) };
  } catch (err) {
    if (!(err instanceof DurationSyntaxError)) throw err;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s)) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return { kind: 'time', ms };
  }
  throw new InvalidArgumentError(
    `${flag}: invalid time or duration ${JSON.stringify(text)} (want RFC3339 like 2024-01-02T15:04:05Z or a relative duration like -2w, -1d, 2h45m)`,
  );
}

/** Resolves a bound to ms since the epoch at `now`. */
export function resolveTime(t: TimeOrDuration, now = Date.now()): number {
  return t.kind === 'time' ? t.ms : now + t.ms;
}
