import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseMetricSelector } from '@thanos-ts/promql';
import { compareLabels, compareStrings, type Labels, type Matcher } from '@thanos-ts/tsdb';
import { APIError, writeAPIError, writeSuccess } from '../http/api-error.js';
import { readForm } from '../http/params.js';
import type { RequestHandler } from '../http/query-api.js';
import type { Logger } from '../log/logger.js';
import { goRFC3339 } from '../rule/api.js';
import {
  type ConnectRulesAPIOptions,
  connectRulesAPI,
  type RemoteRulesAPI,
  type RulesAlertInstance,
  type RulesAlertingRule,
  type RulesAlertState,
  type RulesGroup,
  type RulesRequest,
  type RulesRule,
} from '../rule/rules-service.js';

/** One endpoint the fan-out may ask: a Rules client, and whether its Info advertises the Rules API. */
export interface RulesEndpoint {
  readonly address: string;
  /** Absent: assumed to serve rules. */
  advertisesRules?(signal?: AbortSignal): Promise<boolean>;
  rules: RemoteRulesAPI['rules'];
}

/**
 * A {@link RulesEndpoint} over an in-process ruler (or anything with `ruleGroups`), for a querier
 * embedding its rulers; `name` is what warnings call it.
 */
export function localRulesEndpoint(
  ruler: { ruleGroups(type?: RulesRequest['type']): RulesGroup[] },
  name: string,
): RulesEndpoint {
  return {
    address: name,
    async *rules(req) {
      for (const group of ruler.ruleGroups(req.type ?? 'ALL')) yield { group };
    },
  };
}

/** Options of {@link createRulesFanout}. */
export interface RulesFanoutOptions {
  /**
   * The querier's endpoints, asked per request: gRPC addresses (`host:port`, dialled and cached;
   * names that are not addresses are skipped) or ready clients.
   */
  endpoints: () => readonly (string | RulesEndpoint)[];
  /** TLS for dialled addresses (the querier's --grpc-client-tls-*). */
  tls?: ConnectRulesAPIOptions['tls'];
  /** Labels removed from rule labels before rules of replicas are merged (--query.replica-label). Default none. */
  replicaLabels?: readonly string[];
  /** Default partial-response behaviour (--query.partial-response): true means WARN. Default true. */
  partialResponse?: boolean;
  /** How long an endpoint's Info answer (does it serve rules?) is reused, ms. Default 5_000. */
  infoCacheMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** Merged rules of every ruler, and the warnings of endpoints that failed under WARN. */
export interface RulesFanoutResult {
  groups: RulesGroup[];
  warnings: string[];
}

/** The querier's view of all rulers' rules (Thanos's rules.Proxy plus GRPCClient). */
export interface RulesFanout {
  /** Asks every endpoint advertising the Rules API, then filters, merges and deduplicates. */
  rules(req: RulesRequest, signal?: AbortSignal): Promise<RulesFanoutResult>;
  /** `/api/v1/rules` and `/api/v1/alerts` in Thanos's querier JSON; false for other paths. */
  readonly handler: RequestHandler;
  /** Closes dialled connections. */
  close(): void;
}

const ADDRESS_RE = /^(?:[^\s/:]+|\[[0-9a-fA-F:.]+\]):\d+$/;

/** Go's text/template: a label value is "templated" unless it parses to a single text node. */
function isTemplated(value: string): boolean {
  return value.includes('{{');
}

/** Thanos's `matches`: every matcher of every `match[]` set holds on the non-templated labels. */
function matchesAll(sets: readonly Matcher[][], labels: Labels): boolean {
  for (const set of sets)
    for (const m of set) {
      const v = labels.get(m.name);
      if (!m.matches(isTemplated(v) ? '' : v)) return false;
    }
  return true;
}

const STATE_ORDER: Record<RulesAlertState, number> = { unknown: 0, inactive: 1, pending: 2, firing: 3 };

/** rulespb.Rule.Compare: alerts before recording rules, then name, labels, query, `for`. */
function compareRules(a: RulesRule, b: RulesRule): number {
  if (a.type === 'alerting' && b.type === 'recording') return -1;
  if (a.type === 'recording' && b.type === 'alerting') return 1;
  return (
    compareStrings(a.name, b.name) ||
    compareLabels(a.labels, b.labels) ||
    compareStrings(a.query, b.query) ||
    (a.type === 'alerting' && b.type === 'alerting' ? Math.sign(a.duration - b.duration) : 0)
  );
}

/** Whether replica `a` is preferred to `b` (Thanos keeps the first unless the other compares lower). */
function preferred(a: RulesRule, b: RulesRule): boolean {
  if (a.type === 'alerting' && b.type === 'alerting') {
    // Alert.Compare: the higher state wins, then the later evaluation.
    const d = STATE_ORDER[b.state] - STATE_ORDER[a.state];
    if (d !== 0) return d < 0;
    return a.lastEvaluation >= b.lastEvaluation;
  }
  // RecordingRule.Compare: the later evaluation wins.
  return a.lastEvaluation >= b.lastEvaluation;
}

/**
 * Thanos's GRPCClient.Rules post-processing: drop rules not matching `match[]` (their
 * non-templated labels), keep only asked names, groups and files (groups left without rules
 * go), merge groups of the same file and name, and merge rules that only differ by replica labels
 * keeping the firing-most, most recently evaluated copy. Groups sorted by file;name.
 */
export function mergeRuleGroups(
  groups: readonly RulesGroup[],
  req: RulesRequest,
  replicaLabels: readonly string[],
): RulesGroup[] {
  const sets = (req.matchers ?? []).map((s) => parseMetricSelector(s));
  let out = groups.map((g) => ({ ...g, rules: [...g.rules] }));
  if (sets.length > 0) {
    for (const g of out) g.rules = g.rules.filter((r) => matchesAll(sets, r.labels));
    out = out.filter((g) => g.rules.length > 0);
  }
  const names = new Set(req.ruleNames ?? []);
  const groupNames = new Set(req.ruleGroups ?? []);
  const files = new Set(req.files ?? []);
  if (names.size > 0 || groupNames.size > 0 || files.size > 0) {
    out = out.filter((g) => {
      if (groupNames.size > 0 && !groupNames.has(g.name)) return false;
      if (files.size > 0 && !files.has(g.file)) return false;
      if (names.size > 0) g.rules = g.rules.filter((r) => names.has(r.name));
      return g.rules.length > 0;
    });
  }
  const byKey = new Map<string, RulesGroup>();
  for (const g of out) {
    const key = `${g.file};${g.name}`;
    const have = byKey.get(key);
    if (have) have.rules.push(...g.rules);
    else byKey.set(key, g);
  }
  const merged = [...byKey.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, g]) => g);
  for (const g of merged) {
    const rules = g.rules.map((r) => ({ ...r, labels: r.labels.without(replicaLabels) }) as RulesRule);
    rules.sort(compareRules);
    const kept: RulesRule[] = [];
    for (const r of rules) {
      const last = kept[kept.length - 1];
      if (last && compareRules(last, r) === 0) {
        if (!preferred(last, r)) kept[kept.length - 1] = r;
        continue;
      }
      kept.push(r);
    }
    g.rules = kept;
  }
  return merged;
}

// Thanos's rulespb JSON (custom.go): field order and shapes as its querier writes them.

function labelsJSON(l: Labels): Record<string, string> {
  return l.toRecord();
}

function alertInstanceJSON(a: RulesAlertInstance): Record<string, unknown> {
  return {
    labels: labelsJSON(a.labels),
    annotations: labelsJSON(a.annotations),
    state: a.state,
    ...(a.activeAt !== undefined ? { activeAt: goRFC3339(a.activeAt) } : {}),
    value: a.value,
    partialResponseStrategy: a.partialResponseStrategy,
  };
}

function ruleJSON(r: RulesRule): Record<string, unknown> {
  if (r.type === 'recording')
    return {
      name: r.name,
      query: r.query,
      labels: labelsJSON(r.labels),
      health: r.health,
      ...(r.lastError ? { lastError: r.lastError } : {}),
      evaluationTime: r.evaluationTime,
      lastEvaluation: goRFC3339(r.lastEvaluation),
      type: 'recording',
    };
  const a = r as RulesAlertingRule;
  return {
    state: a.state,
    name: a.name,
    query: a.query,
    duration: a.duration,
    labels: labelsJSON(a.labels),
    annotations: labelsJSON(a.annotations),
    alerts: a.alerts.map(alertInstanceJSON),
    health: a.health,
    ...(a.lastError ? { lastError: a.lastError } : {}),
    evaluationTime: a.evaluationTime,
    lastEvaluation: goRFC3339(a.lastEvaluation),
    keepFiringFor: a.keepFiringFor,
    type: 'alerting',
  };
}

/** `{"groups":[…]}` as Thanos's querier answers /api/v1/rules. */
export function ruleGroupsJSON(groups: readonly RulesGroup[]): string {
  return JSON.stringify({
    groups: groups.map((g) => ({
      name: g.name,
      file: g.file,
      rules: g.rules.map(ruleJSON),
      interval: g.interval,
      evaluationTime: g.evaluationTime,
      lastEvaluation: goRFC3339(g.lastEvaluation),
      limit: g.limit,
      partialResponseStrategy: g.partialResponseStrategy,
    })),
  });
}

/** `{"alerts":[…]}` as Thanos's querier answers /api/v1/alerts (`null` when there are none, as Go marshals it). */
export function alertsJSON(groups: readonly RulesGroup[]): string {
  const alerts: Record<string, unknown>[] = [];
  for (const g of groups)
    for (const r of g.rules) if (r.type === 'alerting') for (const a of r.alerts) alerts.push(alertInstanceJSON(a));
  return JSON.stringify({ alerts: alerts.length > 0 ? alerts : null });
}

/**
 * Creates the querier's rules fan-out: each request asks, concurrently, every endpoint whose
 * Info advertises the Rules API; an endpoint failing fails the request under ABORT and adds a
 * warning under WARN (Thanos's rules.Proxy).
 */
export function createRulesFanout(opts: RulesFanoutOptions): RulesFanout {
  const now = opts.now ?? Date.now;
  const dialled = new Map<string, RemoteRulesAPI>();
  const infoCache = new Map<string, { at: number; serves: boolean }>();
  const infoTTL = opts.infoCacheMs ?? 5_000;
  const replicaLabels = opts.replicaLabels ?? [];

  function resolve(): RulesEndpoint[] {
    const out: RulesEndpoint[] = [];
    const seen = new Set<string>();
    for (const e of opts.endpoints()) {
      if (typeof e !== 'string') {
        out.push(e);
        continue;
      }
      if (!ADDRESS_RE.test(e)) continue;
      seen.add(e);
      let c = dialled.get(e);
      if (!c) {
        c = connectRulesAPI(e, opts.tls ? { tls: opts.tls } : {});
        dialled.set(e, c);
      }
      out.push(c);
    }
    for (const [addr, c] of dialled)
      if (!seen.has(addr)) {
        c.close();
        dialled.delete(addr);
        infoCache.delete(addr);
      }
    return out;
  }

  async function servesRules(e: RulesEndpoint, signal?: AbortSignal): Promise<boolean> {
    if (!e.advertisesRules) return true;
    const hit = infoCache.get(e.address);
    if (hit && now() - hit.at < infoTTL) return hit.serves;
    const serves = await e.advertisesRules(signal);
    infoCache.set(e.address, { at: now(), serves });
    return serves;
  }

  async function rules(req: RulesRequest, signal?: AbortSignal): Promise<RulesFanoutResult> {
    const strategy = req.partialResponseStrategy ?? ((opts.partialResponse ?? true) ? 'WARN' : 'ABORT');
    const warnings: string[] = [];
    const collected: RulesGroup[] = [];
    await Promise.all(
      resolve().map(async (e) => {
        const got: RulesGroup[] = [];
        try {
          if (!(await servesRules(e, signal))) return;
          for await (const msg of e.rules({ ...req, partialResponseStrategy: strategy }, signal)) {
            if ('group' in msg) got.push(msg.group);
            else warnings.push(msg.warning);
          }
          collected.push(...got);
        } catch (err) {
          const message = `fetching rules from rules client ${e.address}: ${(err as Error).message}`;
          if (strategy === 'ABORT') throw new Error(message, { cause: err });
          opts.logger?.warn('rules endpoint failed', { endpoint: e.address, err: (err as Error).message });
          warnings.push(message);
        }
      }),
    );
    return { groups: mergeRuleGroups(collected, req, replicaLabels), warnings };
  }

  const handler: RequestHandler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const isRules = url.pathname === '/api/v1/rules';
    if (!isRules && url.pathname !== '/api/v1/alerts') return false;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      let request: RulesRequest;
      if (isRules) {
        const form = await readForm(req, url);
        const type = form.get('type');
        const upper = type.toUpperCase();
        if (type !== '' && upper !== 'ALL' && upper !== 'ALERT' && upper !== 'RECORD')
          throw new APIError('bad_data', `invalid rules parameter type='${type}'`);
        request = {
          type: type === '' ? 'ALL' : (upper as RulesRequest['type'] & string),
          matchers: form.all('match[]'),
          ruleNames: form.all('rule_name[]'),
          ruleGroups: form.all('rule_group[]'),
          files: form.all('file[]'),
        };
      } else request = { type: 'ALERT' };
      let result: RulesFanoutResult;
      try {
        result = await rules(request, ac.signal);
      } catch (err) {
        throw new APIError('internal', `error retrieving rules: ${(err as Error).message}`, { cause: err });
      }
      writeSuccess(res, isRules ? ruleGroupsJSON(result.groups) : alertsJSON(result.groups), result.warnings);
    } catch (err) {
      writeAPIError(res, err instanceof APIError ? err : new APIError('bad_data', (err as Error).message));
    }
    return true;
  };

  return {
    rules,
    handler,
    close() {
      for (const c of dialled.values()) c.close();
      dialled.clear();
      infoCache.clear();
    },
  };
}
