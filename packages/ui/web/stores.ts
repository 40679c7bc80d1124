import { callAPI } from './api.ts';
import { h } from './dom.ts';
import { formatTime } from './format.ts';

/** One endpoint of Thanos's /api/v1/stores (thanos-ts adds `healthy` and `unhealthySince`). */
export interface StoreStatus {
  name: string;
  lastCheck: string | null;
  lastError: string | null;
  healthy?: boolean;
  unhealthySince?: string | null;
  labelSets: Record<string, string>[];
  minTime: number | null;
  maxTime: number | null;
}

// Stores announce math.MinInt64/MaxInt64 (as float) for "all time"; anything past these reads as unbounded.
const MIN_BOUND = -9.2e18;
const MAX_BOUND = 9.2e18;

function timeCell(ms: number | null, unbounded: string): string {
  if (ms === null) return '-';
  if (ms <= MIN_BOUND || ms >= MAX_BOUND) return unbounded;
  return formatTime(ms);
}

function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return `${formatTime(Date.parse(iso))} (${s}s ago)`;
}

/**
 * The stores page: every endpoint the querier knows, by component type, with health, last
 * check and error, announced label sets and time range. An endpoint that is down stays listed
 * (Thanos keeps it until it has been gone for --store.unhealthy-timeout).
 */
export async function renderStoresPage(root: HTMLElement): Promise<void> {
  const body = h('div', { class: 'stores' }, h('div', { class: 'muted' }, 'Loading…'));
  const refresh = h('button', { class: 'btn', onclick: () => void load() }, 'Refresh');
  root.append(h('div', { class: 'page-head' }, h('h2', null, 'Stores'), refresh), body);
  async function load(): Promise<void> {
    try {
      const { data } = await callAPI<Record<string, StoreStatus[]>>('/api/v1/stores');
      const types = Object.keys(data).sort();
      if (types.length === 0) {
        body.replaceChildren(h('div', { class: 'alert warning' }, 'No stores configured.'));
        return;
      }
      body.replaceChildren(...types.map((t) => storeTable(t, data[t] ?? [])));
    } catch (err) {
      body.replaceChildren(
        h('div', { class: 'alert error' }, h('strong', null, 'Error fetching stores: '), (err as Error).message),
      );
    }
  }
  await load();
}

function storeTable(type: string, stores: StoreStatus[]): HTMLElement {
  const up = stores.filter((s) => s.healthy ?? s.lastError === null).length;
  return h(
    'div',
    { class: 'store-group', 'data-type': type },
    h('h3', null, `${type} `, h('span', { class: 'muted' }, `(${up}/${stores.length} up)`)),
    h(
      'table',
      { class: 'data-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [
            'Endpoint',
            'Status',
            'Announced LabelSets',
            'Min Time (UTC)',
            'Max Time (UTC)',
            'Last Successful Health Check',
            'Last Message',
          ].map((c) => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        stores
          .slice()
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((s) => {
            const healthy = s.healthy ?? s.lastError === null;
            return h(
              'tr',
              { class: healthy ? 'store up' : 'store down', 'data-name': s.name },
              h('td', { class: 'endpoint' }, s.name),
              h('td', null, h('span', { class: `badge ${healthy ? 'ok' : 'bad'}` }, healthy ? 'UP' : 'DOWN')),
              h(
                'td',
                null,
                s.labelSets.length === 0
                  ? h('span', { class: 'muted' }, 'none')
                  : s.labelSets.map((ls) =>
                      h(
                        'div',
                        { class: 'labelset' },
                        Object.entries(ls).map(([k, v]) => h('span', { class: 'badge label' }, `${k}="${v}"`)),
                      ),
                    ),
              ),
              h('td', null, timeCell(s.minTime, '-Inf')),
              h('td', null, timeCell(s.maxTime, '+Inf')),
              h(
                'td',
                null,
                healthy
                  ? ago(s.lastCheck)
                  : `unhealthy since ${s.unhealthySince ? formatTime(Date.parse(s.unhealthySince)) : '?'}`,
              ),
              h('td', { class: s.lastError ? 'error-text' : 'muted' }, s.lastError ?? '-'),
            );
          }),
      ),
    ),
  );
}
