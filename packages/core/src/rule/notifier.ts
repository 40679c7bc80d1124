import type { Logger } from '../log/logger.js';
import { type RelabelRule, relabel } from '../store/relabel.js';
import type { AlertmanagerAPIVersion, HTTPClient } from './clients.js';
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

/** One configured set of Alertmanagers: its discovered base URLs and how to talk to them. */
export interface AlertmanagerSet {
  /** Current base URLs (scheme://host:port/prefix). */
  urls(): readonly string[];
  /** Client from the config's `http_config`. Default: plain fetch. */
  client?: HTTPClient;
  /** Timeout of one send, ms. Default: the notifier's `sendTimeoutMs`. */
  timeoutMs?: number;
  /** API the alerts are posted to (`/api/v1/alerts` or `/api/v2/alerts`). Default 'v2'. */
  apiVersion?: AlertmanagerAPIVersion;
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** Alertmanager base URLs (--alertmanagers.url), e.g. http://alertmanager:9093. Added to `sets` as one v2 set. */
  urls?: readonly string[];
  /** Alertmanager sets from --alertmanagers.config or discovery, read at each send. Default none. */
  sets?: readonly AlertmanagerSet[];
  /** Timeout of one send, ms (--alertmanagers.send-timeout). Default 10_000. */
  sendTimeoutMs?: number;
  /** Labels set on every alert, replacing the alert's own (Thanos's alert queue), minus `dropLabels`. */
  externalLabels: Record<string, string>;
  /** Labels removed from alerts before sending (--alert.label-drop), e.g. the replica label. */
  dropLabels: readonly string[];
  /** Relabel rules applied last (--alert.relabel-config); an alert they drop is not sent. Default none. */
  relabel?: readonly RelabelRule[];
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

/**
 * Converts a rule alert into the Alertmanager API shape as Thanos's alert queue does: labels in
 * `dropLabels` removed, external labels (minus dropped ones) set, then `relabel` applied.
 * Undefined when relabelling dropped the alert.
 */
export function toAlertmanagerAlert(
  a: Alert,
  expr: string,
  opts: Pick<NotifierOptions, 'externalLabels' | 'dropLabels' | 'queryURL' | 'relabel'>,
): AlertmanagerAlert | undefined {
  const drop = new Set(opts.dropLabels);
  const l: Record<string, string> = {};
  for (const { name, value } of a.labels) if (!drop.has(name)) l[name] = value;
  for (const [k, v] of Object.entries(opts.externalLabels)) if (!drop.has(k)) l[k] = v;
  const labels = opts.relabel && opts.relabel.length > 0 ? relabel(l, opts.relabel) : l;
  if (!labels) return undefined;
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) sorted[k] = labels[k] as string;
  return {
    labels: sorted,
    annotations: a.annotations.toRecord(),
    startsAt: new Date(a.firedAt).toISOString(),
    endsAt: new Date(a.resolvedAt !== 0 ? a.resolvedAt : a.validUntil).toISOString(),
    generatorURL: generatorURL(opts.queryURL, expr),
  };
}

/** Creates a notifier posting to Alertmanager's v2 (or v1) API. */
export function createNotifier(opts: NotifierOptions): Notifier {
  const inflight = new Set<Promise<void>>();
  const defaultTimeout = opts.sendTimeoutMs ?? 10_000;
  // `opts.sets` is read at each send: the ruler fills it when it starts.
  const fixed: AlertmanagerSet[] = opts.urls && opts.urls.length > 0 ? [{ urls: () => opts.urls ?? [] }] : [];
  const allSets = () => [...(opts.sets ?? []), ...fixed];
  async function post(set: AlertmanagerSet, base: string, body: string, n: number): Promise<boolean> {
    const url = `${base.replace(/\/+$/, '')}/api/${set.apiVersion ?? 'v2'}/alerts`;
    const timeout = set.timeoutMs ?? defaultTimeout;
    const host = hostOf(base);
    try {
      let status: number;
      let text: string;
      if (set.client) {
        const res = await set.client.request(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
          timeoutMs: timeout,
        });
        status = res.status;
        text = res.body;
      } else {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
          ...(timeout > 0 ? { signal: AbortSignal.timeout(timeout) } : {}),
        });
        status = res.status;
        text = await res.text();
      }
      if (status < 200 || status >= 300)
        throw new AlertmanagerSendError(url, `bad response status ${status}: ${text.slice(0, 200)}`);
      opts.metrics.alertsSent.inc({ alertmanager: host }, n);
      return true;
    } catch (err) {
      opts.metrics.alertSendErrors.inc({ alertmanager: host });
      const e = err instanceof AlertmanagerSendError ? err : new AlertmanagerSendError(url, (err as Error).message);
      opts.logger.warn('sending alerts failed', { alertmanager: host, alerts: n, err: e.message });
      return false;
    }
  }
  return {
    send(alerts, expr) {
      if (alerts.length === 0) return;
      const converted = alerts.flatMap((a) => toAlertmanagerAlert(a, expr, opts) ?? []);
      if (converted.length === 0) return;
      const targets = allSets().flatMap((set) => set.urls().map((u) => ({ set, u })));
      if (targets.length === 0) return;
      // v1 and v2 take the same JSON for posted alerts.
      const body = JSON.stringify(converted);
      const p = Promise.all(targets.map(({ set, u }) => post(set, u, body, converted.length))).then((ok) => {
        if (!ok.some(Boolean)) {
          opts.metrics.alertsDropped.inc(converted.length);
          opts.logger.warn('failed to send alerts to all alertmanagers', { alerts: converted.length });
        }
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    async flush() {
      await Promise.all([...inflight]);
    },
  };
}

/** host:port of a base URL: the `alertmanager` label of Thanos's sender metrics. */
function hostOf(base: string): string {
  try {
    return new URL(base).host;
  } catch {
    return base;
  }
}
