import { readFile } from 'node:fs/promises';
import { parseExpr } from '@thanos-ts/promql';
import { DurationSyntaxError, goQuote, parsePromDuration } from '@thanos-ts/tsdb/goformat';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { RuleFileError, TemplateParseError } from './errors.js';
import { AlertTemplate } from './template.js';

// Prometheus rule files as Prometheus's rulefmt package reads them (model/rulefmt/rulefmt.go):
// strict YAML decoding (unknown fields are errors, type errors collected with their line), then
// validation of every group and rule, with promtool's wording and positions. Thanos adds the
// group-level `partial_response_strategy`; Prometheus 2.53's `query_offset` is accepted too.

/** Partial-response strategy of a rule group's queries (Thanos). */
export type RulePartialResponseStrategy = 'WARN' | 'ABORT';

/** One rule as written. */
export interface RuleConfig {
  /** Name of the series a recording rule writes. */
  record?: string;
  /** Name of an alerting rule (its `alertname` label). */
  alert?: string;
  /** PromQL expression. */
  expr: string;
  /** How long an alert stays pending before firing, ms. 0 fires at once. */
  forMs: number;
  /** How long a firing alert keeps firing after its condition clears, ms. 0: not at all. */
  keepFiringForMs: number;
  /** Labels added to (recording) or templated onto (alerting) results. */
  labels: Record<string, string>;
  /** Alert annotations (templates). */
  annotations: Record<string, string>;
}

/** One rule group as written. */
export interface RuleGroupConfig {
  /** The file it came from. */
  file: string;
  name: string;
  /** Evaluation interval, ms; undefined uses the ruler's --eval-interval. */
  intervalMs: number | undefined;
  /** Evaluation time offset into the past, ms; undefined uses the ruler's default. */
  queryOffsetMs: number | undefined;
  /** Most series (recording) or alerts (alerting) one rule may produce; 0 is no limit. */
  limit: number;
  /** Thanos's partial-response strategy for this group's queries. Default 'ABORT', as Thanos. */
  partialResponseStrategy: RulePartialResponseStrategy;
  rules: RuleConfig[];
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

class Abort {
  constructor(readonly message: string) {}
}

interface Pos {
  line: number;
  col: number;
}

interface RawRule {
  record: string;
  recordPos: Pos;
  alert: string;
  alertPos: Pos;
  expr: string;
  exprPos: Pos;
  forMs: number;
  keepFiringForMs: number;
  labels: Array<[string, string]>;
  annotations: Array<[string, string]>;
}

/**
 * Parses and validates the text of one rule file. Throws RuleFileError listing every problem as
 * `promtool check rules` does (`6:15: group "g", rule 1, "r": could not parse expression: …`).
 * An empty file has no groups.
 */
export function parseRuleFile(file: string, text: string): RuleGroupConfig[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false, strict: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e?.linePos?.[0]?.line ?? 1;
    throw new RuleFileError(file, [
      `yaml: line ${line}: ${(e?.message ?? '').split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
    ]);
  }
  const pos = (n: Node | null | undefined): Pos => {
    if (!n?.range) return { line: 0, col: 0 };
    const p = lc.linePos(n.range[0]);
    return { line: p.line, col: p.col };
  };
  const unmarshal: string[] = [];
  const line = (n: Node | null | undefined) => pos(n).line;
  const kindOf = (n: unknown): string => (isMap(n) ? '!!map' : isSeq(n) ? '!!seq' : '!!str');
  const str = (n: unknown): string => {
    if (n === null || n === undefined) return '';
    if (isScalar(n)) return n.value === null ? '' : typeof n.value === 'string' ? n.value : String(n.source ?? n.value);
    unmarshal.push(`line ${line(n as Node)}: cannot unmarshal ${kindOf(n)} into string`);
    return '';
  };
  const duration = (n: unknown): number => {
    const s = str(n);
    if (s === '' && (n === null || (isScalar(n) && n.value === null))) return 0;
    try {
      return parsePromDuration(s);
    } catch (err) {
      // promtool 2.42 (model.ParseDuration of common v0.39) reports every malformed duration as
      // "not a valid duration string"; later versions name an unknown unit. Rule files are checked
      // against that promtool, so its wording is kept here.
      if (err instanceof DurationSyntaxError && err.message.startsWith('unknown unit'))
        throw new Abort(`not a valid duration string: ${goQuote(s)}`);
      throw new Abort((err as Error).message);
    }
  };
  const int = (n: unknown): number => {
    if (!isScalar(n) || n.value === null) return 0;
    if (typeof n.value === 'number' && Number.isInteger(n.value)) return n.value;
    unmarshal.push(
      `line ${line(n)}: cannot unmarshal !!${typeof n.value === 'number' ? 'float' : 'str'} \`${String(n.source ?? n.value)}\` into int`,
    );
    return 0;
  };
  const fields = (m: unknown, type: string, known: readonly string[]): Map<string, { key: Node; value: unknown }> => {
    const out = new Map<string, { key: Node; value: unknown }>();
    if (m === null || m === undefined || (isScalar(m) && m.value === null)) return out;
    if (!isMap(m)) {
      unmarshal.push(`line ${line(m as Node)}: cannot unmarshal ${kindOf(m)} into ${type}`);
      return out;
    }
    for (const item of (m as YAMLMap).items) {
      const key = item.key as Node;
      const name = isScalar(key) ? String(key.value) : '';
      if (!known.includes(name)) {
        unmarshal.push(`line ${line(key)}: field ${name} not found in type ${type}`);
        continue;
      }
      if (out.has(name)) {
        unmarshal.push(`line ${line(key)}: mapping key "${name}" already defined at line ${line(out.get(name)?.key)}`);
        continue;
      }
      out.set(name, { key, value: item.value });
    }
    return out;
  };
  const stringMap = (n: unknown): Array<[string, string]> => {
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isMap(n)) {
      unmarshal.push(`line ${line(n as Node)}: cannot unmarshal ${kindOf(n)} into map[string]string`);
      return [];
    }
    return (n as YAMLMap).items.map((it) => [str(it.key), str(it.value)] as [string, string]);
  };
  const seq = (n: unknown, type: string): unknown[] => {
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) {
      unmarshal.push(`line ${line(n as Node)}: cannot unmarshal ${kindOf(n)} into ${type}`);
      return [];
    }
    return n.items;
  };

  type RawGroup = {
    node: Node;
    name: string;
    intervalMs: number | undefined;
    queryOffsetMs: number | undefined;
    limit: number;
    prs: RulePartialResponseStrategy;
    prsError: string | undefined;
    rules: RawRule[];
  };
  const groups: RawGroup[] = [];
  try {
    const top = fields(doc.contents, 'rulefmt.RuleGroups', ['groups']);
    for (const g of seq(top.get('groups')?.value, '[]rulefmt.RuleGroup')) {
      const f = fields(g, 'rulefmt.RuleGroup', [
        'name',
        'interval',
        'query_offset',
        'limit',
        'rules',
        'partial_response_strategy',
      ]);
      const interval = f.get('interval');
      const offset = f.get('query_offset');
      const prsText = f.has('partial_response_strategy')
        ? str(f.get('partial_response_strategy')?.value).toUpperCase()
        : 'ABORT';
      const group: RawGroup = {
        node: g as Node,
        name: str(f.get('name')?.value),
        intervalMs: interval ? duration(interval.value) : undefined,
        queryOffsetMs: offset ? duration(offset.value) : undefined,
        limit: int(f.get('limit')?.value),
        prs: prsText === 'WARN' ? 'WARN' : 'ABORT',
        prsError:
          prsText === 'WARN' || prsText === 'ABORT'
            ? undefined
            : `failed to unmarshal "partial_response_strategy": ${JSON.stringify(prsText)}; possible values are WARN, ABORT`,
        rules: [],
      };
      for (const r of seq(f.get('rules')?.value, '[]rulefmt.RuleNode')) {
        const rf = fields(r, 'rulefmt.RuleNode', [
          'record',
          'alert',
          'expr',
          'for',
          'keep_firing_for',
          'labels',
          'annotations',
        ]);
        const rec = rf.get('record')?.value as Node | undefined;
        const al = rf.get('alert')?.value as Node | undefined;
        const ex = rf.get('expr')?.value as Node | undefined;
        group.rules.push({
          record: str(rec),
          recordPos: pos(rec),
          alert: str(al),
          alertPos: pos(al),
          expr: str(ex),
          exprPos: pos(ex),
          forMs: rf.has('for') ? duration(rf.get('for')?.value) : 0,
          keepFiringForMs: rf.has('keep_firing_for') ? duration(rf.get('keep_firing_for')?.value) : 0,
          labels: stringMap(rf.get('labels')?.value),
          annotations: stringMap(rf.get('annotations')?.value),
        });
      }
      groups.push(group);
    }
  } catch (err) {
    if (err instanceof Abort) throw new RuleFileError(file, [err.message]);
    throw err;
  }
  if (unmarshal.length > 0) throw new RuleFileError(file, [`yaml: unmarshal errors:\n  ${unmarshal.join('\n  ')}`]);

  const errs: string[] = [];
  const seen = new Set<string>();
  for (const g of groups) {
    const gp = pos(g.node);
    if (g.name === '') errs.push(`${gp.line}:${gp.col}: Groupname must not be empty`);
    if (seen.has(g.name))
      errs.push(`${gp.line}:${gp.col}: groupname: ${JSON.stringify(g.name)} is repeated in the same file`);
    seen.add(g.name);
    if (g.prsError) errs.push(`${gp.line}:${gp.col}: group ${JSON.stringify(g.name)}: ${g.prsError}`);
    g.rules.forEach((r, i) => {
      const name = r.alert !== '' ? r.alert : r.record;
      const where = `group ${JSON.stringify(g.name)}, rule ${i + 1}, ${JSON.stringify(name)}`;
      const at = (p: Pos | undefined, alt: Pos | undefined, msg: string) =>
        errs.push(`${p ? `${p.line}:${p.col}: ` : ''}${alt ? `${alt.line}:${alt.col}: ` : ''}${where}: ${msg}`);
      for (const e of validateRule(r)) at(e.node, e.alt, e.msg);
    });
  }
  if (errs.length > 0) throw new RuleFileError(file, errs);
  return groups.map((g) => ({
    file,
    name: g.name,
    intervalMs: g.intervalMs,
    queryOffsetMs: g.queryOffsetMs,
    limit: g.limit,
    partialResponseStrategy: g.prs,
    rules: g.rules.map((r) => ({
      ...(r.record !== '' ? { record: r.record } : {}),
      ...(r.alert !== '' ? { alert: r.alert } : {}),
      expr: r.expr,
      forMs: r.forMs,
      keepFiringForMs: r.keepFiringForMs,
      labels: Object.fromEntries(r.labels),
      annotations: Object.fromEntries(r.annotations),
    })),
  }));
}

/** rulefmt's RuleNode.Validate: problems with the node they point at (none for labels/templates). */
function validateRule(r: RawRule): Array<{ node?: Pos; alt?: Pos; msg: string }> {
  const out: Array<{ node?: Pos; alt?: Pos; msg: string }> = [];
  if (r.record !== '' && r.alert !== '')
    out.push({ node: r.recordPos, alt: r.alertPos, msg: "only one of 'record' and 'alert' must be set" });
  if (r.record === '' && r.alert === '') out.push({ node: r.recordPos, msg: "one of 'record' or 'alert' must be set" });
  if (r.expr === '') out.push({ node: r.exprPos, msg: "field 'expr' must be set in rule" });
  else {
    try {
      parseExpr(r.expr);
    } catch (err) {
      out.push({ node: r.exprPos, msg: `could not parse expression: ${(err as Error).message}` });
    }
  }
  if (r.record !== '') {
    if (r.annotations.length > 0) out.push({ node: r.recordPos, msg: "invalid field 'annotations' in recording rule" });
    if (r.forMs !== 0) out.push({ node: r.recordPos, msg: "invalid field 'for' in recording rule" });
    if (r.keepFiringForMs !== 0)
      out.push({ node: r.recordPos, msg: "invalid field 'keep_firing_for' in recording rule" });
    if (!METRIC_NAME_RE.test(r.record))
      out.push({ node: r.recordPos, msg: `invalid recording rule name: ${r.record}` });
  }
  for (const [k] of r.labels)
    if (!LABEL_NAME_RE.test(k) || k === '__name__') out.push({ msg: `invalid label name: ${k}` });
  for (const [k] of r.annotations) if (!LABEL_NAME_RE.test(k)) out.push({ msg: `invalid annotation name: ${k}` });
  // Templates are only checked on alerting rules, as Prometheus's testTemplateParsing.
  if (r.record === '') {
    const name = `__alert_${r.alert}`;
    for (const [what, list] of [
      ['label', r.labels],
      ['annotation', r.annotations],
    ] as const) {
      for (const [k, v] of list) {
        try {
          new AlertTemplate(name, v);
        } catch (err) {
          if (err instanceof TemplateParseError) out.push({ msg: `${what} ${JSON.stringify(k)}: ${err.message}` });
          else throw err;
        }
      }
    }
  }
  return out;
}

/** Reads and parses one rule file; read errors are RuleFileErrors naming it. */
export async function readRuleFile(file: string): Promise<RuleGroupConfig[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RuleFileError(file, [(err as Error).message], { cause: err });
  }
  return parseRuleFile(file, text);
}
