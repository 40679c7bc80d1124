import { RE2JS } from 're2js';
import { InvalidArgumentError } from '../errors.js';

/**
 * A fully anchored regular expression with RE2 (Go) syntax and linear-time matching, like
 * Prometheus's FastRegexMatcher: `.` matches newlines, and common shapes skip the regex engine
 * (a literal, a set of literal alternatives `a|b|c`, a literal prefix followed by `.*`, and `.*`).
 */
export class FastRegexMatcher {
  /** The pattern as the user wrote it. */
  readonly source: string;
  /** When the pattern is a plain alternation of literals, those literals. */
  readonly setMatches: readonly string[] | undefined;
  /** A literal every match starts with ('' when none). */
  readonly prefix: string;
  private readonly matchFn: (value: string) => boolean;

  constructor(pattern: string) {
    this.source = pattern;
    let compiled: RE2JS;
    try {
      compiled = RE2JS.compile(`^(?s:${pattern})$`);
    } catch (err) {
      throw new InvalidArgumentError(`invalid regular expression ${JSON.stringify(pattern)}: ${errorText(err)}`, {
        cause: err,
      });
    }
    const literals = literalAlternatives(pattern);
    this.setMatches = literals;
    this.prefix = literals === undefined ? literalPrefix(pattern) : '';
    if (pattern === '.*') this.matchFn = () => true;
    else if (pattern === '.+') this.matchFn = (v) => v.length > 0;
    else if (literals !== undefined) {
      if (literals.length === 1) {
        const only = literals[0] as string;
        this.matchFn = (v) => v === only;
      } else {
        const set = new Set(literals);
        this.matchFn = (v) => set.has(v);
      }
    } else if (this.prefix !== '' && pattern === `${escapeLiteral(this.prefix)}.*`) {
      const prefix = this.prefix;
      this.matchFn = (v) => v.startsWith(prefix);
    } else {
      const prefix = this.prefix;
      this.matchFn =
        prefix === '' ? (v) => compiled.testExact(v) : (v) => v.startsWith(prefix) && compiled.testExact(v);
    }
  }

  /** Whether the whole of `value` matches. */
  matches(value: string): boolean {
    return this.matchFn(value);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const META = /[\\.+*?()|[\]{}^$]/;

/** `a|b|c` of plain literals (with `\.`-style escapes) → the literals; otherwise undefined. */
function literalAlternatives(pattern: string): string[] | undefined {
  if (pattern.startsWith('(?')) return undefined;
  let body = pattern;
  if (body.startsWith('(') && body.endsWith(')') && balancedOuterGroup(body)) body = body.slice(1, -1);
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined; // \d, \pL, … are classes
      current += next;
      i++;
    } else if (c === '|') {
      out.push(current);
      current = '';
    } else if (META.test(c)) {
      return undefined;
    } else current += c;
  }
  out.push(current);
  return out;
}

function balancedOuterGroup(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i !== s.length - 1) return false;
    }
  }
  return depth === 0;
}

/** The literal text every match must start with, stopping at the first meta character. */
function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      // A quantifier after the escaped char would make it optional.
      if (/[*?{]/.test(pattern[i + 2] ?? '')) break;
      out += next;
      i++;
      continue;
    }
    if (META.test(c)) break;
    if (/[*?{]/.test(pattern[i + 1] ?? '')) break;
    out += c;
  }
  return out;
}

function escapeLiteral(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
