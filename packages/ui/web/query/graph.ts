import uPlot from 'uplot';
import { h } from '../dom.ts';
import { formatTime, formatValue, metricToString } from '../format.ts';
import { alignSeries, type ColumnSeries, type GraphData } from './matrix.ts';

/** What the graph draws: series as columns and the query's range, in seconds as the API speaks. */
export interface GraphInput {
  series: ColumnSeries[];
  startS: number;
  endS: number;
  stepS: number;
  /** The series already on the step grid ({@link alignSeriesAsync}); aligned here when absent. */
  aligned?: GraphData;
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
  /** True when drawn by the raster path (many points) rather than uPlot's own lines. */
  readonly raster: boolean;
  destroy(): void;
}

/** Colour of the i-th series: golden-angle hues, so neighbours differ and the palette never runs out. */
export function seriesColor(i: number, alpha = 1): string {
  const hue = (i * 137.508 + 200) % 360;
  return alpha === 1 ? `hsl(${hue.toFixed(1)}, 70%, 42%)` : `hsla(${hue.toFixed(1)}, 70%, 42%, ${alpha})`;
}

/** The same colour as {@link seriesColor}, packed as a little-endian RGBA pixel for ImageData. */
function seriesPixel(i: number): number {
  const hue = (i * 137.508 + 200) % 360;
  const sat = 0.7;
  const light = 0.42;
  const a = sat * Math.min(light, 1 - light);
  const f = (k0: number) => {
    const k = (k0 + hue / 30) % 12;
    return Math.round(255 * (light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return ((255 << 24) | (f(4) << 16) | (f(8) << 8) | f(0)) >>> 0;
}

/** Cumulative columns for a stacked graph (a gap counts as 0 below the series above it). */
function stack(columns: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  let below: Float64Array | undefined;
  for (const col of columns) {
    const acc = new Float64Array(col.length);
    for (let i = 0; i < col.length; i++) {
      const b = below ? (below[i] as number) : Number.NaN;
      const v = col[i] as number;
      acc[i] = Number.isNaN(v) ? b : v + (Number.isNaN(b) ? 0 : b);
    }
    out.push(acc);
    below = acc;
  }
  return out;
}

/** Points past which lines are rasterised by hand instead of stroked as canvas paths. */
const RASTER_POINTS = 200_000;

/**
 * Draws every visible series as 1-px lines straight into pixels: per step, a vertical run from
 * the previous point's row to this one's in each column between them. Ten million points cost a
 * few hundred milliseconds this way, where canvas paths with anti-aliasing take many seconds.
 */
function rasterize(u: uPlot, xs: Float64Array, columns: Float64Array[]): void {
  const { left, top, width, height } = u.bbox;
  const w = Math.round(width);
  const hgt = Math.round(height);
  if (w <= 0 || hgt <= 0) return;
  const xMin = u.scales.x?.min ?? 0;
  const xMax = u.scales.x?.max ?? 1;
  const yMin = u.scales.y?.min ?? 0;
  const yMax = u.scales.y?.max ?? 1;
  const img = new ImageData(w, hgt);
  const px = new Uint32Array(img.data.buffer);
  const kx = (w - 1) / (xMax - xMin || 1);
  const ky = (hgt - 1) / (yMax - yMin || 1);
  const cols = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) cols[i] = Math.round(((xs[i] as number) - xMin) * kx);
  for (let s = 0; s < columns.length; s++) {
    if (!u.series[s + 1]?.show) continue;
    const col = columns[s] as Float64Array;
    const color = seriesPixel(s);
    let prevX = -1;
    let prevY = 0;
    for (let i = 0; i < col.length; i++) {
      const v = col[i] as number;
      if (Number.isNaN(v)) {
        prevX = -1;
        continue;
      }
      const x = cols[i] as number;
      const y = Math.round((yMax - v) * ky);
      if (x >= 0 && x < w) {
        let y0 = prevX < 0 ? y : prevY;
        // Columns between the previous point and this one get the interpolated run.
        const span = prevX < 0 ? 0 : x - prevX;
        for (let c = span > 1 ? prevX + 1 : x; c <= x; c++) {
          const yc = span > 1 ? Math.round(prevY + ((y - prevY) * (c - prevX)) / span) : y;
          let a = Math.min(y0, yc);
          let b = Math.max(y0, yc);
          if (a < 0) a = 0;
          if (b >= hgt) b = hgt - 1;
          for (let r = a; r <= b; r++) px[r * w + c] = color;
          y0 = yc;
        }
      }
      prevX = x;
      prevY = y;
    }
  }
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = hgt;
  (canvas.getContext('2d') as CanvasRenderingContext2D).putImageData(img, 0, 0);
  u.ctx.drawImage(canvas, Math.round(left), Math.round(top));
}

/** Finite min and max over columns (NaN gaps skipped); [0, 1] when there is nothing. */
function extent(columns: Float64Array[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const col of columns)
    for (let i = 0; i < col.length; i++) {
      const v = col[i] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (lo > hi) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
}

/**
 * Draws a range query's series with uPlot into `container`: time axis, value axis, hover tooltip
 * of the series nearest the cursor with its value, drag to zoom (double-click resets), and a legend
 * (click a series to show only it, click again to show all). Thousands of series stay fast because
 * uPlot's own legend and cursor points (one DOM node per series) are off; the tooltip finds the
 * nearest series with one pass over the hovered step.
 */
export function renderGraph(container: HTMLElement, input: GraphInput, opts: GraphOptions): Graph {
  const { xs, columns } = input.aligned ?? alignSeries(input.series, input);
  const names = input.series.map((s) => metricToString(s.metric));
  const drawn = opts.stacked ? stack(columns) : columns;
  const plotEl = h('div', { class: 'graph-plot' });
  const tooltip = h('div', { class: 'graph-tooltip', hidden: true });
  const legend = h('div', { class: 'graph-legend' });
  const wrap = h('div', { class: 'graph' }, plotEl, tooltip);
  container.replaceChildren(wrap, legend);

  // Few points: uPlot's own anti-aliased paths (and filled areas when stacked), over arrays with null
  // gaps as uPlot wants them. Many points: no paths, our raster pass in the draw hook, and a fixed
  // y range computed once (uPlot's auto-range would rescan every column on each redraw).
  const raster = columns.length * xs.length > RASTER_POINTS;
  const series: uPlot.Series[] = [{}];
  const bands: uPlot.Band[] = [];
  for (let i = 0; i < columns.length; i++) {
    series.push({
      label: names[i],
      stroke: seriesColor(i),
      width: 1,
      points: { show: false },
      ...(raster ? { paths: () => null } : {}),
      fill: opts.stacked && !raster ? seriesColor(i, 0.35) : undefined,
    });
    if (opts.stacked && !raster && i > 0) bands.push({ series: [i + 1, i] });
  }
  const data = raster ? drawn : drawn.map((col) => Array.from(col, (v) => (Number.isNaN(v) ? null : v)));
  const width = Math.max(300, container.clientWidth || 800);
  const plot = new uPlot(
    {
      width,
      height: 400,
      series,
      bands,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false }, focus: { prox: -1 } },
      scales: { x: { time: true }, ...(raster ? { y: { auto: false, range: extent(drawn) } } : {}) },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' } },
        { stroke: '#555', grid: { stroke: '#eee' }, size: 70, values: (_u, ticks) => ticks.map((v) => formatValue(v)) },
      ],
      hooks: {
        setCursor: [(u) => showTooltip(u)],
        ...(raster ? { draw: [(u: uPlot) => rasterize(u, xs, drawn)] } : {}),
      },
    },
    [xs, ...data] as unknown as uPlot.AlignedData,
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
      if (v === undefined || Number.isNaN(v)) continue;
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
    const value = columns[best]?.[idx] ?? Number.NaN;
    tooltip.replaceChildren(
      h('div', { class: 'graph-tooltip-time' }, formatTime((xs[idx] as number) * 1000)),
      h(
        'div',
        null,
        h('span', { class: 'swatch', style: `background:${seriesColor(best)}` }),
        h('b', null, formatValue(value)),
        String(value) !== formatValue(value) ? ` (${value})` : '',
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
    raster,
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
