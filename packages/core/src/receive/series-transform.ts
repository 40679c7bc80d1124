import { type RelabelRule, relabel } from '../store/relabel.js';
import { InvalidTenantError, WriteError } from './errors.js';
import { validateTenant } from './multi-tsdb.js';
import type { TenantSeries, WireLabel, WriteSeries } from './wire.js';

function byName(a: WireLabel, b: WireLabel): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Thanos's Handler.relabel: applies `rules` to each series' labels (Prometheus's relabel.Process)
 * and drops the series a rule drops or that are left without labels. Kept series get sorted
 * labels. A series whose label names repeat is passed on unchanged, so the writer still rejects
 * it with Thanos's duplicate-labels conflict instead of relabelling silently merging the copies.
 * Returns the input array itself when there are no rules.
 */
export function relabelSeries(series: WriteSeries[], rules: readonly RelabelRule[]): WriteSeries[] {
  if (rules.length === 0) return series;
  const out: WriteSeries[] = [];
  for (const s of series) {
    const input: Record<string, string> = {};
    let repeated = false;
    for (const l of s.labels) {
      if (Object.hasOwn(input, l.name)) repeated = true;
      input[l.name] = l.value;
    }
    if (repeated) {
      out.push(s);
      continue;
    }
    const next = relabel(input, rules);
    if (next === undefined) continue;
    const labels: WireLabel[] = [];
    for (const name of Object.keys(next)) labels.push({ name, value: next[name] as string });
    if (labels.length === 0) continue;
    labels.sort(byName);
    out.push({ ...s, labels });
  }
  return out;
}

/**
 * Thanos's --receive.split-tenant-label-name (Handler.distributeTimeseriesToReplicas): a series
 * carrying `labelName` with a non-empty value belongs to the tenant that value names, and the
 * label is removed from it; other series stay with their request's tenant. An invalid tenant
 * name rejects the whole request as Thanos does (400, `tenant name not valid: validation error`).
 * Returns the input itself when `labelName` is empty.
 */
export function splitTenants(data: readonly TenantSeries[], labelName: string): readonly TenantSeries[] {
  if (labelName === '') return data;
  const byTenant = new Map<string, WriteSeries[]>();
  const add = (tenant: string, s: WriteSeries) => {
    let list = byTenant.get(tenant);
    if (!list) {
      list = [];
      byTenant.set(tenant, list);
    }
    list.push(s);
  };
  for (const d of data)
    for (const s of d.series) {
      const at = s.labels.findIndex((l) => l.name === labelName);
      const value = at < 0 ? '' : (s.labels[at] as WireLabel).value;
      if (value === '') {
        add(d.tenant, s);
        continue;
      }
      try {
        validateTenant(value);
      } catch (err) {
        if (err instanceof InvalidTenantError)
          throw new WriteError('bad-data', 'tenant name not valid: validation error', { cause: err });
        throw err;
      }
      add(value, { ...s, labels: s.labels.filter((l) => l.name !== labelName) });
    }
  return [...byTenant].map(([tenant, series]) => ({ tenant, series }));
}
