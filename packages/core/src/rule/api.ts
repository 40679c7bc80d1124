import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatGoFloat } from '@thanos-ts/tsdb/goformat';
import { writeSuccess } from '../http/api-error.js';
import type { RequestHandler } from '../http/query-api.js';
import type { RuleGroup } from './group.js';
import { type Alert, AlertingRule, type Rule } from './rules.js';

/** Go's time.Time RFC3339Nano in UTC (fraction without trailing zeros), as Prometheus's JSON has it. */
export function goRFC3339(ms: number): string {
  if (ms === 0) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

function alertJSON(a: Alert): Record<string, unknown> {
  return {
    labels: a.labels.toRecord(),
    annotations: a.annotations.toRecord(),
    state: a.state,
    activeAt: goRFC3339(a.activeAt),
    ...(a.keepFiringSince !== 0 ? { keepFiringSince: goRFC3339(a.keepFiringSince) } : {}),
    value: formatGoFloat(a.value, 'e'),
  };
}

function ruleJSON(r: Rule): Record<string, unknown> {
  const common = {
    health: r.health,
    ...(r.lastError ? { lastError: r.lastError.message } : {}),
    evaluationTime: r.evaluationTimeMs / 1000,
    lastEvaluation: goRFC3339(r.lastEvaluation),
  };
  if (r instanceof AlertingRule)
    return {
      state: r.state,
      name: r.name,
      query: r.query,
      duration: r.cfg.forMs / 1000,
      keepFiringFor: r.cfg.keepFiringForMs / 1000,
      labels: r.labels.toRecord(),
      annotations: r.cfg.annotations,
      alerts: r.activeAlerts().map(alertJSON),
      ...common,
      type: 'alerting',
    };
  // Prometheus's RecordingRule JSON has `labels,omitempty`.
  return {
    name: r.name,
    query: r.query,
    ...(r.labels.size > 0 ? { labels: r.labels.toRecord() } : {}),
    ...common,
    type: 'recording',
  };
}

/** The Prometheus rules and alerts API over a ruler's groups (`/api/v1/rules`, `/api/v1/alerts`). */
export function createRulesAPIHandler(groups: () => readonly RuleGroup[]): RequestHandler {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/v1/rules') {
      const type = url.searchParams.get('type');
      const want = (r: Rule) =>
        type === null || type === '' || (type === 'alert' ? r instanceof AlertingRule : !(r instanceof AlertingRule));
      const data = {
        groups: groups().map((g) => ({
          name: g.name,
          file: g.file,
          rules: g.rules.filter(want).map(ruleJSON),
          interval: g.intervalMs / 1000,
          limit: g.cfg.limit,
          evaluationTime: g.evaluationTimeMs / 1000,
          lastEvaluation: goRFC3339(g.lastEvaluation),
          partialResponseStrategy: g.cfg.partialResponseStrategy,
        })),
      };
      writeSuccess(res, JSON.stringify(data));
      return true;
    }
    if (url.pathname === '/api/v1/alerts') {
      const alerts: Record<string, unknown>[] = [];
      for (const g of groups())
        for (const r of g.rules)
          if (r instanceof AlertingRule) for (const a of r.activeAlerts()) alerts.push(alertJSON(a));
      writeSuccess(res, JSON.stringify({ alerts }));
      return true;
    }
    return false;
  };
}
