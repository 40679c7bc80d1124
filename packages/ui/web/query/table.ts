import { h } from '../dom.ts';
import { formatTime, metricToString } from '../format.ts';

/** One series of a matrix answer as JSON.parse gives it. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, HistogramJSON][];
}

/** A native histogram sample as the API prints it. */
interface HistogramJSON {
  count: string;
  sum: string;
}

/** The `data` of an instant query answer. */
export type QueryData =
  | {
      resultType: 'vector';
      result: { metric: Record<string, string>; value?: [number, string]; histogram?: [number, HistogramJSON] }[];
    }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

/** Rows drawn at most; Prometheus's UI stops at 10,000 too, and says so. */
export const MAX_TABLE_ROWS = 10_000;

function histogramText(hist: HistogramJSON): string {
  return `count: ${hist.count} sum: ${hist.sum}`;
}

/**
 * The table view of an instant query: one row per series (labels, value), matrix values as
 * `value @timestamp` lines, or the scalar/string. Stops at {@link MAX_TABLE_ROWS} rows with a note.
 */
export function renderTable(data: QueryData): HTMLElement {
  const rows: HTMLElement[] = [];
  let total = 0;
  switch (data.resultType) {
    case 'vector':
      total = data.result.length;
      for (const s of data.result.slice(0, MAX_TABLE_ROWS)) {
        const v = s.value ? s.value[1] : s.histogram ? histogramText(s.histogram[1]) : '';
        rows.push(
          h(
            'tr',
            null,
            h('td', { class: 'series-name' }, metricToString(s.metric)),
            h('td', { class: 'series-value' }, v),
          ),
        );
      }
      break;
    case 'matrix':
      total = data.result.length;
      for (const s of data.result.slice(0, MAX_TABLE_ROWS)) {
        const lines = [
          ...(s.values ?? []).map(([t, v]) => `${v} @${t}`),
          ...(s.histograms ?? []).map(([t, hist]) => `${histogramText(hist)} @${t}`),
        ];
        rows.push(
          h(
            'tr',
            null,
            h('td', { class: 'series-name' }, metricToString(s.metric)),
            h('td', { class: 'series-value' }, ...lines.flatMap((l, i) => (i === 0 ? [l] : [h('br'), l]))),
          ),
        );
      }
      break;
    case 'scalar':
    case 'string':
      total = 1;
      rows.push(
        h(
          'tr',
          null,
          h('td', { class: 'series-name' }, data.resultType),
          h('td', { class: 'series-value', title: formatTime(data.result[0] * 1000) }, data.result[1]),
        ),
      );
      break;
  }
  if (total === 0) return h('div', { class: 'muted empty' }, 'Empty query result');
  return h(
    'div',
    null,
    total > MAX_TABLE_ROWS
      ? h('div', { class: 'alert warning' }, `Showing only the first ${MAX_TABLE_ROWS} of ${total} series.`)
      : null,
    h('table', { class: 'data-table result-table' }, h('tbody', null, rows)),
  );
}
