import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../dom.ts';
import { formatTime, formatValue, metricToString } from '../format.ts';

/** One series of a range query answer (Prometheus's matrix JSON). */
export interface MatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, { count: string; sum: string }][];
}

/** What the graph draws: the matrix and the query's range, in seconds as the API speaks. */
export interface GraphInput {
  series: MatrixSeries[];
  startS: number;
  endS: number;
  stepS: number;
}

/** Options of {@link renderGraph}. */
export interface GraphOptions {
  /** Stack the series (areas on top of each other). */
  stacked: boolean;
  /** Legend entries drawn at most; the rest are counted. Default 500. */
  maxLegendEntries?: number;
}

/** A drawn graph. */
export interface Graph {
  /** Series drawn. */
  readonly seriesCount: number;
  /** Points per series (steps of the range). */
  readonly pointCount: number;
  destroy(): void;
}

/** The aligned columns uPlot draws: shared timestamps and one column per series. */
export interface GraphData {
  xs: Float64Array;
  /** Per series, a value per step; null where the series has no sample (a gap). */
  columns: (number | null)[][];
}

/**
 * Turns the matrix into uPlot's aligned columns over `[start, end]` by `step`. Samples off the
 * step grid (possible with a custom step) go to the nearest step. Native histograms are drawn by
 * their count, as a stand-in until a heatmap exists. Infinities and NaN are gaps: they have no place
 * on a linear axis.
 */
export function alignSeries(input: GraphInput): GraphData {
  const { startS, endS, stepS } = input;
  const n = Math.max(1, Math.floor((endS - startS) / stepS + 1e-9) + 1);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = startS + i * stepS;
  const columns: (number | null)[][] = [];
  for (const s of input.series) {
    const col: (number | null)[] = new Array(n).fill(null);
    if (s.values) {
      for (const [t, v] of s.values) {
        const i = Math.round((t - startS) / stepS);
        if (i < 0 || i >= n) continue;
        const f = Number(v);
        col[i] = Number.isFinite(f) ? f : null;
      }
    }
    if (s.histograms) {
      for (const [t, hist] of s.histograms) {
        const i = Math.round((t - startS) / stepS);
        if (i >= 0 && i < n) col[i] = Number(hist.count);
      }
    }
    columns.push(col);
  }
  return { xs, columns };
}

/** Colour of the i-th series: golden-angle hues, so neighbours differ and the palette never runs out. */
export function seriesColor(i: number, alpha = 1): string {
  const hue = (i * 137.508 + 200) % 360;
  return alpha === 1 ? `hsl(${hue.toFixed(1)}, 70%, 42%)` : `hsla(${hue.toFixed(1)}, 70%, 42%, ${alpha})`;
}

/** Cumulative columns for a stacked graph (a gap counts as 0 below the series above it). */
function stack(columns: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let below: (number | null)[] | undefined;
  for (const col of columns) {
    const acc = col.map((v, i) => (v === null ? null : v + ((below?.[i] as number | null) ?? 0)));
    if (below) for (let i = 0; i < acc.length; i++) if (acc[i] === null) acc[i] = below[i] ?? null;
    out.push(acc);
    below = acc;
  }
  return out;
}

/**
 * Draws a range query's series with uPlot into `container`: time axis, value axis, hover tooltip
 * of the series nearest the cursor with its value, drag to zoom (double-click resets), and a legend
 * (click a series to show only it, click again to show all). Thousands of series stay fast because
 * uPlot's own legend and cursor points (one DOM node per series) are off; the tooltip finds the
 * nearest series with one pass over the hovered step.
 */
export function renderGraph(container: HTMLElement, input: GraphInput, opts: GraphOptions): Graph {
  const { xs, columns } = alignSeries(input);
  const names = input.series.map((s) => metricToString(s.metric));
  const drawn = opts.stacked ? stack(columns) : columns;
  const plotEl = h('div', { class: 'graph-plot' });
  const tooltip = h('div', { class: 'graph-tooltip', hidden: true });
  const legend = h('div', { class: 'graph-legend' });
  const wrap = h('div', { class: 'graph' }, plotEl, tooltip);
  container.replaceChildren(wrap, legend);

  const series: uPlot.Series[] = [{}];
  const bands: uPlot.Band[] = [];
  for (let i = 0; i < columns.length; i++) {
    series.push({
      label: names[i],
      stroke: seriesColor(i),
      width: 1,
      points: { show: false },
      fill: opts.stacked ? seriesColor(i, 0.35) : undefined,
    });
    if (opts.stacked && i > 0) bands.push({ series: [i + 1, i] });
  }
  const width = Math.max(300, container.clientWidth || 800);
  const plot = new uPlot(
    {
      width,
      height: 400,
      series,
      bands,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false }, focus: { prox: -1 } },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' } },
        { stroke: '#555', grid: { stroke: '#eee' }, size: 70, values: (_u, ticks) => ticks.map((v) => formatValue(v)) },
      ],
      hooks: {
        setCursor: [(u) => showTooltip(u)],
      },
    },
    [xs as unknown as number[], ...drawn] as uPlot.AlignedData,
    plotEl,
  );

  function showTooltip(u: uPlot): void {
    const idx = u.cursor.idx;
    const top = u.cursor.top ?? -1;
    if (idx === null || idx === undefined || top < 0) {
      tooltip.hidden = true;
      return;
    }
    let best = -1;
    let bestDist = Number.POSITIVE_INFINITY;
    for (let s = 0; s < drawn.length; s++) {
      if (!u.series[s + 1]?.show) continue;
      const v = drawn[s]?.[idx];
      if (v === null || v === undefined) continue;
      const d = Math.abs(u.valToPos(v, 'y') - top);
      if (d < bestDist) {
        bestDist = d;
        best = s;
      }
    }
    if (best < 0) {
      tooltip.hidden = true;
      return;
    }
    const value = columns[best]?.[idx] ?? null;
    tooltip.replaceChildren(
      h('div', { class: 'graph-tooltip-time' }, formatTime((xs[idx] as number) * 1000)),
      h(
        'div',
        null,
        h('span', { class: 'swatch', style: `background:${seriesColor(best)}` }),
        h('b', null, formatValue(value)),
        value !== null && String(value) !== formatValue(value) ? ` (${value})` : '',
      ),
      h('div', { class: 'graph-tooltip-labels' }, names[best] ?? ''),
    );
    tooltip.hidden = false;
    // Cursor positions are relative to the plotting area; the tooltip to the graph's box.
    const over = u.over.getBoundingClientRect();
    const box = wrap.getBoundingClientRect();
    const left = over.left - box.left + (u.cursor.left ?? 0);
    const flip = left > box.width - 320;
    tooltip.style.left = flip ? '' : `${left + 12}px`;
    tooltip.style.right = flip ? `${box.width - left + 12}px` : '';
    tooltip.style.top = `${over.top - box.top + top + 12}px`;
  }

  // The legend: first `max` series, with a count of the rest.
  const max = opts.maxLegendEntries ?? 500;
  let isolated = -1;
  const entries: HTMLElement[] = [];
  for (let i = 0; i < Math.min(max, names.length); i++) {
    const entry = h(
      'div',
      {
        class: 'graph-legend-item',
        title: 'click: show only this series; click again: show all',
        onclick: () => isolate(i),
      },
      h('span', { class: 'swatch', style: `background:${seriesColor(i)}` }),
      names[i] ?? '',
    );
    entries.push(entry);
  }
  legend.append(...entries);
  if (names.length > max) legend.append(h('div', { class: 'muted' }, `… and ${names.length - max} more series`));

  function isolate(i: number): void {
    const all = isolated === i;
    isolated = all ? -1 : i;
    plot.batch(() => {
      for (let s = 0; s < names.length; s++) plot.setSeries(s + 1, { show: all || s === i });
    });
    for (const [j, e] of entries.entries()) e.classList.toggle('faded', !all && j !== i);
  }

  const resize = new ResizeObserver(() => {
    const w = Math.max(300, container.clientWidth);
    if (w !== plot.width) plot.setSize({ width: w, height: 400 });
  });
  resize.observe(container);
  return {
    seriesCount: names.length,
    pointCount: xs.length,
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
