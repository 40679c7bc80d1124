import { InvalidArgumentError } from '../errors.js';
import { FastRegexMatcher } from './regex.js';

/** The four matcher operators of PromQL and the StoreAPI. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/**
 * A label matcher with Prometheus semantics: an absent label has the value '', regexes are fully
 * anchored RE2 and run in linear time.
 */
export class Matcher {
  private readonly regex: FastRegexMatcher | undefined;

  constructor(
    readonly type: MatchType,
    readonly name: string,
    readonly value: string,
  ) {
    if (type === '=~' || type === '!~') this.regex = new FastRegexMatcher(value);
    else if (type !== '=' && type !== '!=') throw new InvalidArgumentError(`unknown match type ${String(type)}`);
  }

  /** Whether a label value (or '' for an absent label) satisfies the matcher. */
  matches(value: string): boolean {
    switch (this.type) {
      case '=':
        return value === this.value;
      case '!=':
        return value !== this.value;
      case '=~':
        return (this.regex as FastRegexMatcher).matches(value);
      case '!~':
        return !(this.regex as FastRegexMatcher).matches(value);
    }
  }

  /** For `=~`/`!~` over literal alternations, the literals (lets indexes look values up directly). */
  setMatches(): readonly string[] | undefined {
    return this.regex?.setMatches;
  }

  /** For regex matchers, a literal every matching value starts with ('' when none). */
  prefix(): string {
    return this.regex?.prefix ?? '';
  }

  /** Whether this matcher accepts the empty value, i.e. also selects series lacking the label. */
  matchesEmpty(): boolean {
    return this.matches('');
  }

  /** PromQL text form, e.g. `job=~"api.*"`. */
  toString(): string {
    return `${this.name}${this.type}${JSON.stringify(this.value)}`;
  }
}

/** Shorthand for `new Matcher(type, name, value)`. */
export function matcher(type: MatchType, name: string, value: string): Matcher {
  return new Matcher(type, name, value);
}
