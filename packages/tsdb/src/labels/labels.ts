/** The label holding the metric name. */
export const METRIC_NAME = '__name__';

/** A single name/value pair. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

// Separator that cannot appear in valid UTF-8 label text, used to build map keys.
const SEP = '\xff';

/**
 * An immutable set of labels sorted by name, as Prometheus keeps them. Stored as one flat array
 * `[name0, value0, name1, value1, …]` so comparison and hashing walk a single array.
 * Empty values are dropped on construction: in Prometheus a label with an empty value is absent.
 */
export class Labels implements Iterable<Label> {
  /** The empty label set. */
  static readonly EMPTY = new Labels([]);

  private keyCache: string | undefined;

  private constructor(private readonly flat: readonly string[]) {}

  /** Builds labels from a record or pairs; sorts by name, drops empty values, last duplicate wins. */
  static from(input: Record<string, string> | Iterable<Label> | Iterable<readonly [string, string]>): Labels {
    const byName = new Map<string, string>();
    if (isIterable(input)) {
      for (const item of input as Iterable<Label | readonly [string, string]>) {
        if (Array.isArray(item)) byName.set(item[0], item[1]);
        else byName.set((item as Label).name, (item as Label).value);
      }
    } else {
      for (const name of Object.keys(input)) byName.set(name, input[name] as string);
    }
    const names = [...byName.keys()].filter((n) => byName.get(n) !== '').sort(compareStrings);
    const flat: string[] = new Array(names.length * 2);
    names.forEach((n, i) => {
      flat[2 * i] = n;
      flat[2 * i + 1] = byName.get(n) as string;
    });
    return new Labels(flat);
  }

  /**
   * Wraps an already sorted, duplicate-free flat array without copying. The caller promises the
   * invariants (used by decoders that read labels in sorted order from a block index).
   */
  static fromSortedFlat(flat: readonly string[]): Labels {
    return new Labels(flat);
  }

  /** Number of labels. */
  get size(): number {
    return this.flat.length >> 1;
  }

  /** The value of `name`, or '' when absent (Prometheus semantics). */
  get(name: string): string {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === name) return f[i + 1] as string;
    }
    return '';
  }

  /** Whether a label called `name` is present. */
  has(name: string): boolean {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return true;
    return false;
  }

  /** Name of the i-th label in sorted order. */
  nameAt(i: number): string {
    return this.flat[2 * i] as string;
  }

  /** Value of the i-th label in sorted order. */
  valueAt(i: number): string {
    return this.flat[2 * i + 1] as string;
  }

  /** The flat `[name, value, …]` array; do not mutate. */
  toFlat(): readonly string[] {
    return this.flat;
  }

  *[Symbol.iterator](): Iterator<Label> {
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) yield { name: f[i] as string, value: f[i + 1] as string };
  }

  /** A plain object copy. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) out[f[i] as string] = f[i + 1] as string;
    return out;
  }

  /**
   * A string uniquely identifying this label set, usable as a Map key. Cached; cheaper than
   * hashing to a number and free of collisions.
   */
  key(): string {
    if (this.keyCache === undefined) this.keyCache = this.flat.join(SEP);
    return this.keyCache;
  }

  /** Equality of label sets. */
  equals(other: Labels): boolean {
    if (this === other) return true;
    const a = this.flat;
    const b = other.flat;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** A copy without the given names. */
  without(names: Iterable<string>): Labels {
    const drop = names instanceof Set ? (names as Set<string>) : new Set(names);
    const out: string[] = [];
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (!drop.has(f[i] as string)) out.push(f[i] as string, f[i + 1] as string);
    }
    return out.length === f.length ? this : new Labels(out);
  }

  /** A copy holding only the given names. */
  keepOnly(names: Iterable<string>): Labels {
    const keep = names instanceof Set ? (names as Set<string>) : new Set(names);
    const out: string[] = [];
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) {
      if (keep.has(f[i] as string)) out.push(f[i] as string, f[i + 1] as string);
    }
    return out.length === f.length ? this : new Labels(out);
  }

  /** A copy with `name` set to `value` (removed when `value` is ''). */
  with(name: string, value: string): Labels {
    const f = this.flat;
    const out: string[] = [];
    let placed = false;
    for (let i = 0; i < f.length; i += 2) {
      const n = f[i] as string;
      if (!placed && n >= name) {
        if (value !== '') out.push(name, value);
        placed = true;
        if (n === name) continue;
      }
      out.push(n, f[i + 1] as string);
    }
    if (!placed && value !== '') out.push(name, value);
    return new Labels(out);
  }

  /** Prometheus text form: `{a="1", b="2"}` (metric name not pulled out). */
  toString(): string {
    const parts: string[] = [];
    const f = this.flat;
    for (let i = 0; i < f.length; i += 2) parts.push(`${f[i]}=${JSON.stringify(f[i + 1])}`);
    return `{${parts.join(', ')}}`;
  }
}

/**
 * Orders label sets like Prometheus's labels.Compare: label by label on name then value;
 * a prefix sorts first.
 */
export function compareLabels(a: Labels, b: Labels): number {
  const fa = a.toFlat();
  const fb = b.toFlat();
  const n = Math.min(fa.length, fb.length);
  for (let i = 0; i < n; i++) {
    const x = fa[i] as string;
    const y = fb[i] as string;
    if (x !== y) return compareStrings(x, y);
  }
  return fa.length - fb.length;
}

/**
 * Byte-wise (UTF-8) string order, as Go compares strings. JS `<` compares UTF-16 code units, which
 * agrees with UTF-8 byte order except when a surrogate (U+D800–DFFF, part of a character above
 * U+FFFF) meets a unit in U+E000–FFFF; that one case is corrected here.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates encode code points above U+FFFF, which sort after every BMP character in UTF-8.
        const xs = x <= 0xdfff ? x + 0x2800 : x;
        const ys = y <= 0xdfff ? y + 0x2800 : y;
        return xs < ys ? -1 : 1;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return x != null && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
