import { DurationSyntaxError, parsePromDuration } from '@thanos-ts/tsdb/goformat';
import { ObjstoreConfigError } from '../errors.js';

/** The shape of one config field, used to reject unknown keys and wrong types up front. */
export type FieldSpec =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int' }
  | { kind: 'signedInt' }
  | { kind: 'duration' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'stringMap' }
  | { kind: 'object'; fields: Readonly<Record<string, FieldSpec>> };

/** A validated config object: durations in ms, nested objects validated recursively. */
export interface ConfigValues {
  [key: string]: string | boolean | number | Record<string, string> | ConfigValues | undefined;
}

const describe = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a mapping'
        : String(v);

/**
 * Checks `value` against `fields`: every key must be known and every value of the right type.
 * `where` names the section in messages ("S3 config", "S3 config.sse_config"), so a typo reads
 * `objstore config: unknown field "acess_key" in S3 config`. YAML nulls (`key:` with no value)
 * count as unset, as in Thanos's Go YAML decoding.
 */
export function validateFields(
  value: unknown,
  fields: Readonly<Record<string, FieldSpec>>,
  where: string,
): ConfigValues {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ObjstoreConfigError(`${where} must be a mapping of settings, got ${describe(value)}`);
  }
  const out: ConfigValues = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const spec = fields[key];
    if (!spec) {
      const known = Object.keys(fields).join(', ');
      throw new ObjstoreConfigError(`unknown field ${JSON.stringify(key)} in ${where} (known fields: ${known})`);
    }
    if (raw === null || raw === undefined) continue;
    const bad = (want: string) =>
      new ObjstoreConfigError(
        `invalid value for ${JSON.stringify(key)} in ${where}: want ${want}, got ${describe(raw)}`,
      );
    switch (spec.kind) {
      case 'string':
        // YAML reads `bucket: 123` as a number; Go's decoder accepts it as a string, so do we.
        if (typeof raw === 'string') out[key] = raw;
        else if (typeof raw === 'number' || typeof raw === 'boolean') out[key] = String(raw);
        else throw bad('a string');
        break;
      case 'bool':
        if (typeof raw !== 'boolean') throw bad('true or false');
        out[key] = raw;
        break;
      case 'int':
        if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) throw bad('a non-negative integer');
        out[key] = raw;
        break;
      case 'signedInt':
        // Go ints may be negative in YAML; the provider decides what a negative value means.
        if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw bad('an integer');
        out[key] = raw;
        break;
      case 'duration': {
        const ms = typeof raw === 'string' ? promDurationOrUndefined(raw) : raw === 0 ? 0 : undefined;
        if (ms === undefined) throw bad('a duration such as 90s, 2m or 1h30m');
        out[key] = ms;
        break;
      }
      case 'enum':
        if (typeof raw !== 'string' || !spec.values.includes(raw))
          throw bad(`one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`);
        out[key] = raw;
        break;
      case 'stringMap': {
        if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('a mapping of strings');
        const map: Record<string, string> = {};
        for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
            throw bad('a mapping of strings');
          map[k] = String(v);
        }
        out[key] = map;
        break;
      }
      case 'object':
        out[key] = validateFields(raw, spec.fields, `${where}.${key}`);
        break;
    }
  }
  return out;
}

/** Thanos's model.Duration config fields; undefined when `text` is not a duration. */
function promDurationOrUndefined(text: string): number | undefined {
  try {
    return parsePromDuration(text);
  } catch (err) {
    if (err instanceof DurationSyntaxError) return undefined;
    throw err;
  }
}
