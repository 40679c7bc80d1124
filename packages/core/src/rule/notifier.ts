import type { Labels } from '@thanos-ts/tsdb';
import type { Logger } from '../log/logger.js';
import { AlertmanagerSendError } from './errors.js';
import type { RuleMetrics } from './metrics.js';
import type { Alert } from './rules.js';

/** One alert as Alertmanager's v2 API takes it (`POST /api/v2/alerts`). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** Alertmanager base URLs (--alertmanagers.url), e.g. http://alertmanager:9093. */
  urls: readonly string[];
  /** Timeout of one send, ms (--alertmanagers.send-timeout). Default 10_000. */
  sendTimeoutMs?: number;
  /** Labels added to every alert that lacks them (the ruler's external labels). */
  externalLabels: Record<string, string>;
  /** Labels removed from alerts before sending (--alert.label-drop), e.g. the replica label. */
  dropLabels: readonly string[];
  /** Base of generatorURL (--alert.query-url). */
  queryURL: string;
  metrics: RuleMetrics;
  logger: Logger;
}

/** Sends alerts to every configured Alertmanager; failures are logged and counted, never thrown. */
export interface Notifier {
  send(alerts: readonly Alert[], expr: string): void;
  /** Waits for sends in flight. */
  flush(): Promise<void>;
}

function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Prometheus's strutil.TableLinkForExpression appended to the query URL. */
export function generatorURL(base: string, expr: string): string {
  return `${base.replace(/\/+$/, '')}/graph?g0.expr=${goQueryEscape(expr)}&g0.tab=1`;
}

/** Converts a rule alert into the v2 API shape (Prometheus's sendAlerts plus the notifier's label handling). */
export function toAlertmanagerAlert(
  a: Alert,
  expr: string,
  opts: Pick<NotifierOptions, 'externalLabels' | 'dropLabels' | 'queryURL'>,
): AlertmanagerAlert {
  let l: Labels = a.labels;
  for (const [k, v] of Object.entries(opts.externalLabels)) if (!l.has(k)) l = l.with(k, v);
  l = l.without(opts.dropLabels);
  return {
    labels: l.toRecord(),
    annotations: a.annotations.toRecord(),
    startsAt: new Date(a.firedAt).toISOString(),
    endsAt: new Date(a.resolvedAt !== 0 ? a.resolvedAt : a.validUntil).toISOString(),
    generatorURL: generatorURL(opts.queryURL, expr),
  };
}

/** Creates a notifier posting to Alertmanager's v2 API. */
export function createNotifier(opts: NotifierOptions): Notifier {
  const inflight = new Set<Promise<void>>();
  const timeout = opts.sendTimeoutMs ?? 10_000;
  async function post(base: string, body: string, n: number): Promise<boolean> {
    const url = `${base.replace(/\/+$/, '')}/api/v2/alerts`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        ...(timeout > 0 ? { signal: AbortSignal.timeout(timeout) } : {}),
      });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300)
        throw new AlertmanagerSendError(base, `bad response status ${res.status}: ${text.slice(0, 200)}`);
      opts.metrics.alertsSent.inc({ alertmanager: base }, n);
      return true;
    } catch (err) {
      opts.metrics.alertSendErrors.inc({ alertmanager: base });
      const e = err instanceof AlertmanagerSendError ? err : new AlertmanagerSendError(base, (err as Error).message);
      opts.logger.warn('sending alerts failed', { alertmanager: base, alerts: n, err: e.message });
      return false;
    }
  }
  return {
    send(alerts, expr) {
      if (alerts.length === 0) return;
      if (opts.urls.length === 0) return;
      const body = JSON.stringify(alerts.map((a) => toAlertmanagerAlert(a, expr, opts)));
      const p = Promise.all(opts.urls.map((u) => post(u, body, alerts.length))).then((ok) => {
        if (!ok.some(Boolean)) opts.metrics.alertsDropped.inc(alerts.length);
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    async flush() {
      await Promise.all([...inflight]);
    },
  };
}
