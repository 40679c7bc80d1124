import { APIRequestError, callAPI, callAPIText } from '../api.ts';
import { h } from '../dom.ts';
import { formatCount, formatDuration, formatTime, parseDuration, parseTime } from '../format.ts';
import { createQueryEditor, type QueryEditor } from './editor.ts';
import type { Graph, GraphInput } from './graph.ts';
import type { GraphData, RangeAnswer } from './matrix.ts';
import { effectiveStepMs, type PanelState, RESOLUTIONS, thanosParams } from './state.ts';
import { type QueryData, renderTable } from './table.ts';

/** Steps of the graph range buttons, as in Prometheus's UI. */
const RANGE_STEPS = [
  '1s',
  '10s',
  '1m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '6h',
  '12h',
  '1d',
  '2d',
  '1w',
  '2w',
  '4w',
  '8w',
  '1y',
].map((d) => parseDuration(d) as number);

/** One query panel of the query page. */
export interface Panel {
  readonly el: HTMLElement;
  state(): PanelState;
  /** Runs the panel's query (table or graph) now. */
  execute(): Promise<void>;
  destroy(): void;
}

/** Callbacks of {@link createPanel}. */
export interface PanelHooks {
  /** The panel's state changed (the page rewrites the URL). */
  onChange(): void;
  onRemove(): void;
}

let panelIds = 0;

type GraphModules = [typeof import('./graph.ts'), typeof import('./matrix.ts')];
let graphModules: Promise<GraphModules> | undefined;

/** The graph's chunk (uPlot, the graph, the range-answer scanner), loaded once per page. */
function loadGraph(): Promise<GraphModules> {
  graphModules ??= Promise.all([import('./graph.ts'), import('./matrix.ts')]);
  return graphModules;
}

/**
 * A query panel: PromQL editor, Execute, Thanos's dedup / partial response / max source resolution,
 * Table and Graph tabs with their time controls, load stats, and warnings and errors shown as
 * Prometheus's UI shows them.
 */
export function createPanel(initial: PanelState, hooks: PanelHooks): Panel {
  const s: PanelState = { ...initial };
  const id = panelIds++;
  let inflight: AbortController | undefined;
  let graph: Graph | undefined;
  let lastExpr = '';

  const changed = () => hooks.onChange();
  const editorHost = h('div', { class: 'editor' });
  const execBtn = h('button', { class: 'btn primary execute', onclick: () => void execute() }, 'Execute');
  const checkbox = (label: string, key: 'dedup' | 'partialResponse' | 'stacked', cls: string) =>
    h(
      'label',
      { class: `check ${cls}` },
      h('input', {
        type: 'checkbox',
        checked: s[key],
        onchange: (e: Event) => {
          s[key] = (e.target as HTMLInputElement).checked;
          changed();
          if (key === 'stacked') redrawGraph();
          else if (lastExpr !== '') void execute();
        },
      }),
      ` ${label}`,
    );
  const resolution = h(
    'select',
    {
      class: 'max-source-resolution',
      onchange: (e: Event) => {
        s.maxSourceResolution = (e.target as HTMLSelectElement).value;
        changed();
        if (lastExpr !== '') void execute();
      },
    },
    RESOLUTIONS.map((r) =>
      h(
        'option',
        { value: r, selected: r === s.maxSourceResolution },
        r === 'auto' ? 'Auto downsampling' : r === '0s' ? 'Only raw data' : `Max ${r}`,
      ),
    ),
  );
  const options = h(
    'div',
    { class: 'panel-options' },
    checkbox('Use Deduplication', 'dedup', 'dedup'),
    checkbox('Use Partial Response', 'partialResponse', 'partial-response'),
    h('label', { class: 'check' }, 'Max Source Resolution: ', resolution),
  );

  // Table controls: evaluation time.
  const momentInput = h('input', {
    class: 'input moment',
    placeholder: 'Evaluation time (now)',
    value: s.momentMs === null ? '' : formatTime(s.momentMs),
    onchange: () => {
      s.momentMs = parseTime(momentInput.value) ?? null;
      changed();
      void execute();
    },
  });
  // Graph controls: range, end, step, stacked.
  const rangeInput = h('input', {
    class: 'input range',
    value: formatDuration(s.rangeMs),
    onchange: () => {
      const ms = parseDuration(rangeInput.value);
      if (ms && ms > 0) s.rangeMs = ms;
      rangeInput.value = formatDuration(s.rangeMs);
      changed();
      void execute();
    },
  });
  const stepRange = (dir: 1 | -1) => {
    const next =
      dir > 0 ? RANGE_STEPS.find((d) => d > s.rangeMs) : [...RANGE_STEPS].reverse().find((d) => d < s.rangeMs);
    if (next) s.rangeMs = next;
    rangeInput.value = formatDuration(s.rangeMs);
    changed();
    void execute();
  };
  const endInput = h('input', {
    class: 'input end',
    placeholder: 'End time (now)',
    value: s.endMs === null ? '' : formatTime(s.endMs),
    onchange: () => {
      s.endMs = parseTime(endInput.value) ?? null;
      changed();
      void execute();
    },
  });
  const stepInput = h('input', {
    class: 'input step',
    placeholder: 'Res. (s)',
    title: 'Query resolution step; empty: range / 250',
    value: s.stepMs === null ? '' : formatDuration(s.stepMs),
    onchange: () => {
      const v = stepInput.value.trim();
      // Plain numbers are seconds, as in Prometheus's UI.
      s.stepMs = v === '' ? null : /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : (parseDuration(v) ?? null);
      changed();
      void execute();
    },
  });
  const tableControls = h('div', { class: 'controls table-controls' }, momentInput);
  const graphControls = h(
    'div',
    { class: 'controls graph-controls' },
    h('button', { class: 'btn', title: 'Shrink range', onclick: () => stepRange(-1) }, '−'),
    rangeInput,
    h('button', { class: 'btn', title: 'Grow range', onclick: () => stepRange(1) }, '+'),
    endInput,
    stepInput,
    checkbox('Stacked', 'stacked', 'stacked'),
  );

  const tabBtn = (tab: PanelState['tab'], label: string) =>
    h(
      'button',
      {
        class: `tab tab-${tab}`,
        onclick: () => {
          if (s.tab === tab) return;
          s.tab = tab;
          changed();
          layout();
          if (lastExpr !== '') void execute();
        },
      },
      label,
    );
  const tabs = h('div', { class: 'tabs' }, tabBtn('table', 'Table'), tabBtn('graph', 'Graph'));
  const stats = h('div', { class: 'stats muted' });
  const messages = h('div', { class: 'messages' });
  const result = h('div', { class: 'result' });
  const el = h(
    'section',
    { class: 'panel', 'data-panel': id },
    h('div', { class: 'query-row' }, editorHost, execBtn),
    options,
    tabs,
    tableControls,
    graphControls,
    messages,
    stats,
    result,
    h(
      'div',
      { class: 'panel-footer' },
      h('button', { class: 'btn link remove', onclick: () => hooks.onRemove() }, 'Remove Panel'),
    ),
  );
  const editor: QueryEditor = createQueryEditor(editorHost, s.expr, () => void execute());
  // The graph's code (uPlot, the range-answer scanner) is fetched once the editor is up, so the
  // Graph tab does not wait for it and the first paint does not either.
  void editor.upgraded.then(() => {
    const idle = (globalThis as { requestIdleCallback?: (fn: () => void) => void }).requestIdleCallback;
    if (idle) idle(() => void loadGraph().catch(() => {}));
    else setTimeout(() => void loadGraph().catch(() => {}), 200);
  });
  let renderGraph: GraphModules[0]['renderGraph'] | undefined;

  function layout(): void {
    tableControls.hidden = s.tab !== 'table';
    graphControls.hidden = s.tab !== 'graph';
    for (const b of tabs.children) b.classList.toggle('active', b.classList.contains(`tab-${s.tab}`));
  }
  layout();

  let lastMatrix: GraphInput | undefined;
  function redrawGraph(): void {
    if (s.tab !== 'graph' || !lastMatrix || !renderGraph) return;
    graph?.destroy();
    graph = renderGraph(result, lastMatrix, { stacked: s.stacked });
  }

  function showMessages(warnings: string[], infos: string[], error?: string): void {
    messages.replaceChildren(
      ...(error ? [h('div', { class: 'alert error' }, h('strong', null, 'Error executing query: '), error)] : []),
      ...warnings.map((w) => h('div', { class: 'alert warning' }, h('strong', null, 'Warning: '), w)),
      ...infos.map((w) => h('div', { class: 'alert info' }, h('strong', null, 'Info: '), w)),
    );
  }

  async function execute(): Promise<void> {
    s.expr = editor.value();
    changed();
    inflight?.abort();
    const expr = s.expr.trim();
    if (expr === '') return;
    lastExpr = expr;
    const ac = new AbortController();
    inflight = ac;
    const form = new URLSearchParams({ query: s.expr });
    thanosParams(s, form);
    const began = performance.now();
    execBtn.disabled = true;
    el.classList.add('loading');
    try {
      if (s.tab === 'table') {
        if (s.momentMs !== null) form.set('time', String(s.momentMs / 1000));
        const r = await callAPI<QueryData>('/api/v1/query', form, ac.signal);
        const took = performance.now() - began;
        graph?.destroy();
        graph = undefined;
        result.replaceChildren(renderTable(r.data));
        const n = r.data.resultType === 'scalar' || r.data.resultType === 'string' ? 1 : r.data.result.length;
        stats.textContent = `Load time: ${Math.round(took)}ms   Result series: ${formatCount(n)}`;
        editor.showServerError('');
        showMessages(r.warnings, r.infos);
      } else {
        const step = effectiveStepMs(s);
        // Align the range to the step, so consecutive runs hit the same grid (Prometheus's UI does).
        const end = Math.floor((s.endMs ?? Date.now()) / step) * step;
        const start = end - s.rangeMs;
        form.set('start', String(start / 1000));
        form.set('end', String(end / 1000));
        form.set('step', String(step / 1000));
        const modules = loadGraph();
        const { text, status } = await callAPIText('/api/v1/query_range', form, ac.signal);
        const [g, { parseRangeAnswerOnGridAsync }] = await modules;
        renderGraph = g.renderGraph;
        const range = { startS: start / 1000, endS: end / 1000, stepS: step / 1000 };
        let r: RangeAnswer & { aligned: GraphData };
        try {
          // Read straight onto the graph's step grid: no second pass to align the series.
          r = await parseRangeAnswerOnGridAsync(text, range);
        } catch {
          throw new APIRequestError(
            `/api/v1/query_range: HTTP ${status}: ${text.trim().slice(0, 300)}`,
            'http',
            status,
          );
        }
        if (r.status !== 'success')
          throw new APIRequestError(r.error ?? `HTTP ${status}`, r.errorType ?? 'unknown', status);
        if (r.resultType !== 'matrix')
          throw new APIRequestError('range query did not return a matrix', 'internal', status);
        const took = performance.now() - began;
        lastMatrix = { series: r.series, ...range, aligned: r.aligned };
        if (ac.signal.aborted) return;
        redrawGraph();
        stats.textContent = `Load time: ${Math.round(took)}ms   Resolution: ${formatDuration(step)}   Result series: ${formatCount(r.series.length)}`;
        editor.showServerError('');
        showMessages(r.warnings, r.infos);
      }
    } catch (err) {
      if (ac.signal.aborted) return;
      const message = (err as Error).message;
      showMessages([], [], message);
      editor.showServerError(message);
      stats.textContent = '';
      graph?.destroy();
      graph = undefined;
      result.replaceChildren();
    } finally {
      if (inflight === ac) {
        inflight = undefined;
        execBtn.disabled = false;
        el.classList.remove('loading');
      }
    }
  }

  return {
    el,
    state: () => ({ ...s, expr: editor.value() }),
    execute,
    destroy() {
      inflight?.abort();
      graph?.destroy();
      editor.destroy();
      el.remove();
    },
  };
}
