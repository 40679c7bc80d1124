const UNIT_MS: Record<string, number> = {
  y: 365 * 24 * 3600 * 1000,
  w: 7 * 24 * 3600 * 1000,
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
};

/**
 * Parses a Prometheus duration (`90s`, `1m30s`, `2h`, `1d`, `100ms`; units y w d h m s ms in
 * that order, each at most once) into milliseconds, as Thanos's `model.Duration` config fields.
 * Returns undefined when the text is not a duration.
 */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let at = 0;
  let lastUnit = -1;
  let total = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const match = re.exec(text);
    if (!match) return undefined;
    const unit = match[2] as string;
    const rank = order.indexOf(unit);
    if (rank <= lastUnit) return undefined;
    lastUnit = rank;
    total += Number(match[1]) * (UNIT_MS[unit] as number);
    at = re.lastIndex;
  }
  return at === 0 ? undefined : total;
}
