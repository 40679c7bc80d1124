const UNITS: [string, number][] = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Parses a Prometheus duration (`1h30m`, `5m`, `2d`, `250ms`) into ms; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
  let ms = 0;
  let pos = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const unit = UNITS.find(([u]) => u === m?.[2]);
    ms += Number(m[1]) * (unit?.[1] ?? 0);
    pos = re.lastIndex;
  }
  return pos === t.length && pos > 0 ? ms : undefined;
}

/** Formats ms as a Prometheus duration, largest units first (`5400000` → `1h30m`; 0 → `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [u, size] of UNITS) {
    if (u === 'y' || u === 'w') continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Formats a Unix time in ms as `YYYY-MM-DD HH:MM:SS` in UTC (Prometheus's UI default). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Parses `YYYY-MM-DD HH:MM[:SS]` as UTC (or an RFC 3339 / Unix-seconds value); undefined when malformed. */
export function parseTime(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  const d = Date.parse(t);
  return Number.isNaN(d) ? undefined : d;
}

/** Prometheus's string quoting for a label value (as `fmt.Sprintf("%q")` prints plain text). */
function quote(v: string): string {
  return JSON.stringify(v);
}

/** `name{a="1", b="2"}`, as Prometheus's UI prints a series; `{}` for no labels. */
export function metricToString(metric: Record<string, string>): string {
  const name = metric.__name__ ?? '';
  const labels = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(', ');
  return labels === '' && name !== '' ? name : `${name}{${labels}}`;
}

/** A sample value for axes and tooltips: up to 6 significant digits, SI suffix past 1e3. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(v);
  const si: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [f, s] of si) if (abs >= f) return `${trim(v / f)}${s}`;
  if (abs !== 0 && abs < 1e-3) return v.toExponential(2);
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** Bytes as KiB/MiB/GiB with one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Thousands separators: 1234567 → `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
