import { formatExpr, parseExpr } from '@thanos-ts/promql';
import { Labels } from '@thanos-ts/tsdb';
import { RuleEvalError } from './errors.js';
import type { RuleQueryFunc, RuleQueryOptions } from './query-func.js';
import type { RuleConfig } from './rule-file.js';
import { AlertTemplate, type TemplateData } from './template.js';

/** A sample a rule produced, to append to the ruler's TSDB. */
export interface OutputSample {
  labels: Labels;
  t: number;
  v: number;
}

/** Health of a rule after its last evaluation, as /api/v1/rules reports it. */
export type RuleHealth = 'unknown' | 'ok' | 'err';

/** State of an alert, as Prometheus's rules.AlertState. */
export type AlertState = 'inactive' | 'pending' | 'firing';

/** One alert of an alerting rule (Prometheus's rules.Alert). Times are ms since the epoch; 0 is unset. */
export interface Alert {
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  /** When the condition first held (pending since). */
  activeAt: number;
  firedAt: number;
  resolvedAt: number;
  lastSentAt: number;
  validUntil: number;
  keepFiringSince: number;
  value: number;
}

/** What evaluating a rule needs besides the time. */
export interface EvalContext {
  query: RuleQueryFunc;
  queryOptions: RuleQueryOptions;
  /** Query (and output) time offset into the past, ms. */
  queryOffsetMs: number;
  /** Series (recording) or alerts (alerting) limit; 0 is none. */
  limit: number;
  externalLabels: Record<string, string>;
  externalURL: string;
  /** Called when a template fails to render (Prometheus logs "Expanding alert template failed"). */
  onTemplateError?: (rule: string, err: Error) => void;
}

abstract class RuleBase {
  health: RuleHealth = 'unknown';
  lastError: Error | undefined;
  /** Start of the last evaluation, ms; 0 before the first. */
  lastEvaluation = 0;
  /** Duration of the last evaluation, ms. */
  evaluationTimeMs = 0;
  readonly labels: Labels;
  constructor(readonly cfg: RuleConfig) {
    this.labels = Labels.from(cfg.labels);
  }
  private formatted: string | undefined;
  abstract get name(): string;
  /**
   * The expression as Prometheus prints it (rule.Query().String()): what /api/v1/rules shows and
   * generatorURL links to. The file's text when it does not parse (rule files are checked before).
   */
  get query(): string {
    if (this.formatted === undefined) {
      try {
        this.formatted = formatExpr(parseExpr(this.cfg.expr));
      } catch {
        this.formatted = this.cfg.expr;
      }
    }
    return this.formatted;
  }
  /** Rule identity across reloads: name plus labels (Prometheus's nameAndLabels). */
  get identity(): string {
    return this.name + this.labels.toString();
  }
  abstract eval(ts: number, ctx: EvalContext): Promise<OutputSample[]>;
}

/** A recording rule: writes its expression's result under a new metric name. */
export class RecordingRule extends RuleBase {
  readonly kind = 'recording';
  get name(): string {
    return this.cfg.record as string;
  }

  /** Evaluates at `ts` (ms) and returns the series to write; throws RuleEvalError. */
  async eval(ts: number, ctx: EvalContext): Promise<OutputSample[]> {
    const t = ts - ctx.queryOffsetMs;
    const vector = await ctx.query(this.cfg.expr, t, ctx.queryOptions);
    const out: OutputSample[] = [];
    const seen = new Set<string>();
    for (const s of vector) {
      let l = s.labels.with('__name__', this.name);
      for (const x of this.labels) l = l.with(x.name, x.value);
      const key = l.key();
      // Prometheus's RecordingRule.Eval: duplicates only show up after the rule's labels are applied.
      if (seen.has(key))
        throw new RuleEvalError(this.name, 'vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      out.push({ labels: l, t, v: s.value });
    }
    if (ctx.limit > 0 && out.length > ctx.limit)
      throw new RuleEvalError(this.name, `exceeded limit of ${ctx.limit} with ${out.length} series`);
    return out;
  }
}

/** How long a resolved alert is kept (and re-sent as resolved), ms: Prometheus's resolvedRetention. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** An alerting rule with its alerts' state (Prometheus's rules.AlertingRule). */
export class AlertingRule extends RuleBase {
  readonly kind = 'alerting';
  /** Active alerts (pending, firing, or recently resolved) by label set key. */
  active = new Map<string, Alert>();
  /** Whether `for` state was restored (or needs none); ALERTS series are written only then. */
  restored: boolean;
  private readonly labelTemplates: Array<[string, AlertTemplate]>;
  private readonly annotationTemplates: Array<[string, AlertTemplate]>;

  constructor(cfg: RuleConfig, restored: boolean) {
    super(cfg);
    this.restored = restored;
    const tname = `__alert_${cfg.alert}`;
    this.labelTemplates = Object.entries(cfg.labels).map(([k, v]) => [k, new AlertTemplate(tname, v)]);
    this.annotationTemplates = Object.entries(cfg.annotations)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, new AlertTemplate(tname, v)]);
  }

  get name(): string {
    return this.cfg.alert as string;
  }

  /** `for`, ms. */
  get holdDurationMs(): number {
    return this.cfg.forMs;
  }

  /** Alerts currently pending or firing. */
  activeAlerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }

  /** The rule's state as /api/v1/rules reports it: the worst of its alerts. */
  get state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  private async expand(tmpl: AlertTemplate, data: TemplateData, ts: number, ctx: EvalContext): Promise<string> {
    try {
      return await tmpl.render(data, async (expr) =>
        (await ctx.query(expr, ts, ctx.queryOptions)).map((s) => ({
          Labels: s.labels.toRecord(),
          Value: s.value,
        })),
      );
    } catch (err) {
      ctx.onTemplateError?.(this.name, err as Error);
      return `<error expanding template: error executing template ${tmpl.name}: ${(err as Error).message}>`;
    }
  }

  /**
   * Evaluates at `ts` (ms): updates alert states (pending → firing after `for`, resolved when the
   * condition is gone, held by `keep_firing_for`) and returns ALERTS and ALERTS_FOR_STATE samples
   * once restored. Mirrors Prometheus's AlertingRule.Eval.
   */
  async eval(ts: number, ctx: EvalContext): Promise<OutputSample[]> {
    const t = ts - ctx.queryOffsetMs;
    const vector = await ctx.query(this.cfg.expr, t, ctx.queryOptions);
    const fresh = new Map<string, Alert>();
    for (const s of vector) {
      const data: TemplateData = {
        labels: s.labels.toRecord(),
        externalLabels: ctx.externalLabels,
        externalURL: ctx.externalURL,
        value: s.value,
      };
      let l = s.labels.without(['__name__']);
      for (const [k, tmpl] of this.labelTemplates) l = l.with(k, await this.expand(tmpl, data, t, ctx));
      l = l.with('alertname', this.name);
      const ann: Array<[string, string]> = [];
      for (const [k, tmpl] of this.annotationTemplates) ann.push([k, await this.expand(tmpl, data, t, ctx)]);
      const key = l.key();
      if (fresh.has(key))
        throw new RuleEvalError(
          this.name,
          'vector contains metrics with the same labelset after applying alert labels',
        );
      fresh.set(key, {
        labels: l,
        annotations: Labels.from(ann),
        state: 'pending',
        activeAt: ts,
        firedAt: 0,
        resolvedAt: 0,
        lastSentAt: 0,
        validUntil: 0,
        keepFiringSince: 0,
        value: s.value,
      });
    }
    for (const [key, a] of fresh) {
      const old = this.active.get(key);
      if (old && old.state !== 'inactive') {
        old.value = a.value;
        old.annotations = a.annotations;
        continue;
      }
      this.active.set(key, a);
    }
    const out: OutputSample[] = [];
    let activeCount = 0;
    for (const [key, a] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.cfg.keepFiringForMs > 0) {
          if (a.keepFiringSince === 0) a.keepFiringSince = ts;
          if (ts - a.keepFiringSince < this.cfg.keepFiringForMs) keepFiring = true;
        }
        // A resolved alert stays for resolvedRetention so Alertmanager is told it resolved.
        if (a.state === 'pending' || (a.resolvedAt !== 0 && ts - a.resolvedAt > RESOLVED_RETENTION_MS))
          this.active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else a.keepFiringSince = 0;
      activeCount++;
      if (a.state === 'pending' && ts - a.activeAt >= this.cfg.forMs) {
        a.state = 'firing';
        a.firedAt = ts;
      }
      if (this.restored) {
        out.push({ labels: a.labels.with('__name__', 'ALERTS').with('alertstate', a.state), t, v: 1 });
        out.push({ labels: a.labels.with('__name__', 'ALERTS_FOR_STATE'), t, v: a.activeAt / 1000 });
      }
    }
    if (ctx.limit > 0 && activeCount > ctx.limit) {
      this.active = new Map();
      throw new RuleEvalError(this.name, `exceeded limit of ${ctx.limit} with ${activeCount} alerts`);
    }
    return out;
  }
}

/** A rule of either kind. */
export type Rule = RecordingRule | AlertingRule;

/** Builds the rule for a config; `restored` is whether alerting rules skip `for` state restoration. */
export function newRule(cfg: RuleConfig, restored: boolean): Rule {
  return cfg.alert !== undefined ? new AlertingRule(cfg, restored) : new RecordingRule(cfg);
}
