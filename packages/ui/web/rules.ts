import { APIRequestError, callAPI } from './api.ts';
import { h } from './dom.ts';
import { formatTime, metricToString } from './format.ts';

interface AlertJSON {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
}

interface RuleJSON {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: string;
  duration?: number;
  labels?: Record<string, string>;
  alerts?: AlertJSON[];
  lastEvaluation: string;
  evaluationTime: number;
}

interface GroupJSON {
  name: string;
  file: string;
  rules: RuleJSON[];
  interval: number;
  lastEvaluation: string;
  evaluationTime: number;
}

function unavailable(err: unknown, what: string): HTMLElement {
  const notServed = err instanceof APIRequestError && err.status === 404;
  return h(
    'div',
    { class: notServed ? 'alert warning' : 'alert error' },
    notServed
      ? `This component does not serve ${what} yet (no rule API behind it).`
      : [h('strong', null, `Error fetching ${what}: `), (err as Error).message],
  );
}

function evaluated(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) || t <= 0 ? 'never' : `${formatTime(t)}`;
}

/** The rules page: groups with each rule's query, health, last evaluation and error (Prometheus's /rules). */
export async function renderRulesPage(root: HTMLElement): Promise<void> {
  const body = h('div', { class: 'rules' });
  root.append(h('div', { class: 'page-head' }, h('h2', null, 'Rules')), body);
  let groups: GroupJSON[];
  try {
    groups = (await callAPI<{ groups: GroupJSON[] }>('/api/v1/rules')).data.groups;
  } catch (err) {
    body.replaceChildren(unavailable(err, '/api/v1/rules'));
    return;
  }
  if (groups.length === 0) {
    body.replaceChildren(h('div', { class: 'muted' }, 'No rule groups.'));
    return;
  }
  body.replaceChildren(
    ...groups.map((g) =>
      h(
        'div',
        { class: 'rule-group' },
        h(
          'h3',
          null,
          g.name,
          ' ',
          h('span', { class: 'muted' }, `${g.file} · every ${g.interval}s · last ${evaluated(g.lastEvaluation)}`),
        ),
        h(
          'table',
          { class: 'data-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Rule', 'State', 'Health', 'Last evaluation', 'Evaluation time', 'Error'].map((c) => h('th', null, c)),
            ),
          ),
          h(
            'tbody',
            null,
            g.rules.map((r) =>
              h(
                'tr',
                null,
                h(
                  'td',
                  { class: 'rule' },
                  h('div', null, h('strong', null, `${r.type === 'alerting' ? 'alert' : 'record'}: ${r.name}`)),
                  h('code', null, r.query),
                ),
                h('td', null, r.state ?? '-'),
                h(
                  'td',
                  null,
                  h('span', { class: `badge ${r.health === 'ok' ? 'ok' : r.health === 'err' ? 'bad' : ''}` }, r.health),
                ),
                h('td', null, evaluated(r.lastEvaluation)),
                h('td', null, `${(r.evaluationTime * 1000).toFixed(1)}ms`),
                h('td', { class: 'error-text' }, r.lastError ?? ''),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The alerts page: alerting rules with their active alerts by state (Prometheus's /alerts). */
export async function renderAlertsPage(root: HTMLElement): Promise<void> {
  const body = h('div', { class: 'alerts' });
  root.append(h('div', { class: 'page-head' }, h('h2', null, 'Alerts')), body);
  let groups: GroupJSON[];
  try {
    groups = (await callAPI<{ groups: GroupJSON[] }>('/api/v1/rules?type=alert')).data.groups;
  } catch (err) {
    body.replaceChildren(unavailable(err, '/api/v1/rules'));
    return;
  }
  const rules = groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting'));
  if (rules.length === 0) {
    body.replaceChildren(h('div', { class: 'muted' }, 'No alerting rules.'));
    return;
  }
  const order = ['firing', 'pending', 'inactive'];
  rules.sort((a, b) => order.indexOf(a.state ?? 'inactive') - order.indexOf(b.state ?? 'inactive'));
  body.replaceChildren(
    ...rules.map((r) =>
      h(
        'details',
        { class: `alert-rule state-${r.state ?? 'inactive'}`, open: r.state === 'firing' },
        h(
          'summary',
          null,
          h('span', { class: `badge ${r.state}` }, r.state ?? 'inactive'),
          ` ${r.name} (${r.alerts?.length ?? 0} active)`,
        ),
        h('code', { class: 'rule-query' }, r.query),
        (r.alerts ?? []).length === 0
          ? null
          : h(
              'table',
              { class: 'data-table' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Labels', 'State', 'Active since', 'Value'].map((c) => h('th', null, c)),
                ),
              ),
              h(
                'tbody',
                null,
                (r.alerts ?? []).map((a) =>
                  h(
                    'tr',
                    null,
                    h('td', null, metricToString(a.labels)),
                    h('td', null, a.state),
                    h('td', null, evaluated(a.activeAt)),
                    h('td', null, a.value),
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}
