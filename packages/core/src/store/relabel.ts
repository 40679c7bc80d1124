import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { parse as parseYaml } from 'yaml';

/** Relabel actions Prometheus supports (model/relabel). */
export type RelabelAction =
  | 'replace'
  | 'keep'
  | 'drop'
  | 'keepequal'
  | 'dropequal'
  | 'hashmod'
  | 'labelmap'
  | 'labeldrop'
  | 'labelkeep'
  | 'lowercase'
  | 'uppercase';

/** One validated relabel rule with Prometheus's defaults filled in. */
export interface RelabelRule {
  sourceLabels: string[];
  separator: string;
  regex: RegExp;
  targetLabel: string;
  replacement: string;
  modulus: number;
  action: RelabelAction;
}

const ACTIONS: readonly RelabelAction[] = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
];
const KEYS = ['source_labels', 'separator', 'regex', 'target_label', 'replacement', 'modulus', 'action'];

/**
 * Parses a Prometheus relabel config (a YAML list of rules), as used by the store gateway's
 * --selector.relabel-config. Errors name `flag` and the rule index.
 */
export function parseRelabelConfig(text: string, flag = '--selector.relabel-config'): RelabelRule[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: parsing relabel configuration: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc))
    throw new InvalidArgumentError(`${flag}: relabel configuration must be a YAML list of rules`);
  return doc.map((raw, i) => {
    const where = `${flag}: rule ${i}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new InvalidArgumentError(`${where}: not a mapping`);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (!KEYS.includes(k)) throw new InvalidArgumentError(`${where}: unknown field ${k}`);
    const action = String(r.action ?? 'replace').toLowerCase() as RelabelAction;
    if (!ACTIONS.includes(action))
      throw new InvalidArgumentError(`${where}: unknown relabel action ${JSON.stringify(r.action)}`);
    const sourceLabels = r.source_labels === undefined ? [] : r.source_labels;
    if (!Array.isArray(sourceLabels) || !sourceLabels.every((s) => typeof s === 'string'))
      throw new InvalidArgumentError(`${where}: source_labels must be a list of label names`);
    const regexText = r.regex === undefined ? '(.*)' : String(r.regex);
    let regex: RegExp;
    try {
      // Prometheus anchors relabel regexes at both ends.
      regex = new RegExp(`^(?:${regexText.replace(/\(\?P</g, '(?<')})$`, 's');
    } catch (err) {
      throw new InvalidArgumentError(`${where}: invalid regex ${JSON.stringify(regexText)}: ${(err as Error).message}`);
    }
    const modulus = r.modulus === undefined ? 0 : Number(r.modulus);
    const targetLabel = r.target_label === undefined ? '' : String(r.target_label);
    if (action === 'hashmod' && (!Number.isInteger(modulus) || modulus <= 0))
      throw new InvalidArgumentError(`${where}: relabel configuration for hashmod requires non-zero modulus`);
    if (
      (action === 'replace' ||
        action === 'hashmod' ||
        action === 'lowercase' ||
        action === 'uppercase' ||
        action === 'keepequal' ||
        action === 'dropequal') &&
      targetLabel === ''
    )
      throw new InvalidArgumentError(
        `${where}: relabel configuration for ${action} action requires 'target_label' value`,
      );
    return {
      sourceLabels: sourceLabels as string[],
      separator: r.separator === undefined ? ';' : String(r.separator),
      regex,
      targetLabel,
      replacement: r.replacement === undefined ? '$1' : String(r.replacement),
      modulus,
      action,
    };
  });
}

/**
 * Applies rules to a label set like Prometheus's relabel.Process: returns the new labels, or
 * undefined when a rule dropped the set (or no labels remain).
 */
export function relabel(
  input: Record<string, string>,
  rules: readonly RelabelRule[],
): Record<string, string> | undefined {
  const lset: Record<string, string> = { ...input };
  for (const rule of rules) {
    const value = rule.sourceLabels.map((n) => lset[n] ?? '').join(rule.separator);
    switch (rule.action) {
      case 'keep':
        if (!rule.regex.test(value)) return undefined;
        break;
      case 'drop':
        if (rule.regex.test(value)) return undefined;
        break;
      case 'keepequal':
        if (value !== (lset[rule.targetLabel] ?? '')) return undefined;
        break;
      case 'dropequal':
        if (value === (lset[rule.targetLabel] ?? '')) return undefined;
        break;
      case 'replace': {
        const m = rule.regex.exec(value);
        if (!m) break;
        const target = expand(rule.targetLabel, m);
        const res = expand(rule.replacement, m);
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(target)) break;
        if (res === '') delete lset[target];
        else lset[target] = res;
        break;
      }
      case 'lowercase':
        lset[rule.targetLabel] = value.toLowerCase();
        break;
      case 'uppercase':
        lset[rule.targetLabel] = value.toUpperCase();
        break;
      case 'hashmod':
        lset[rule.targetLabel] = String(hashmod(value, rule.modulus));
        break;
      case 'labelmap':
        for (const [name, v] of Object.entries(lset)) {
          const m = rule.regex.exec(name);
          if (m) lset[expand(rule.replacement, m)] = v;
        }
        break;
      case 'labeldrop':
        for (const name of Object.keys(lset)) if (rule.regex.test(name)) delete lset[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(lset)) if (!rule.regex.test(name)) delete lset[name];
        break;
    }
  }
  return Object.keys(lset).length === 0 ? undefined : lset;
}

/** Prometheus's hashmod: the last 8 bytes of md5(value), big-endian, modulo `modulus`. */
export function hashmod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value).digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}

/** Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in a template from a regex match (Go's Regexp.Expand). */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, dollar: string, braced?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}
