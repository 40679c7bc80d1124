import { formatDuration, formatTime, parseDuration, parseTime } from '../format.ts';

/** Thanos's max_source_resolution choices in the query UI. */
export const RESOLUTIONS = ['auto', '0s', '5m', '1h'] as const;

/** What one query panel shows; all of it lives in the URL so a link reproduces the view. */
export interface PanelState {
  expr: string;
  tab: 'graph' | 'table';
  /** Graph range, ms. */
  rangeMs: number;
  /** Graph end, Unix ms; null = now. */
  endMs: number | null;
  /** Graph step, ms; null = range / 250 (as Prometheus's UI picks). */
  stepMs: number | null;
  /** Table evaluation time, Unix ms; null = now. */
  momentMs: number | null;
  stacked: boolean;
  /** Thanos: deduplicate on the querier's replica labels. */
  dedup: boolean;
  /** Thanos: answer with what the reachable stores have when some fail (with warnings). */
  partialResponse: boolean;
  /** Thanos: 'auto', '0s' (raw only), '5m', '1h'. */
  maxSourceResolution: string;
}

/** A new panel: Thanos's UI defaults (dedup on, partial response off, raw-or-better resolution 0s). */
export function defaultPanel(): PanelState {
  return {
    expr: '',
    tab: 'table',
    rangeMs: 3_600_000,
    endMs: null,
    stepMs: null,
    momentMs: null,
    stacked: false,
    dedup: true,
    partialResponse: false,
    maxSourceResolution: '0s',
  };
}

/**
 * Reads panels from Prometheus's URL parameters (`g0.expr`, `g0.tab`, `g0.range_input`,
 * `g0.end_input`, `g0.moment_input`, `g0.step_input`, `g0.stacked`) and Thanos's
 * (`g0.deduplicate`, `g0.partial_response`, `g0.max_source_resolution`). `tab` accepts the old
 * UI's 0 (graph) and 1 (table) as well as the names.
 */
export function panelsFromURL(params: URLSearchParams): PanelState[] {
  const panels: PanelState[] = [];
  for (let i = 0; ; i++) {
    const p = (k: string) => params.get(`g${i}.${k}`);
    if (p('expr') === null && p('tab') === null) break;
    const d = defaultPanel();
    const tab = p('tab');
    const res = p('max_source_resolution');
    panels.push({
      expr: p('expr') ?? '',
      tab: tab === '0' || tab === 'graph' ? 'graph' : 'table',
      rangeMs: parseDuration(p('range_input') ?? '') ?? d.rangeMs,
      endMs: parseTime(p('end_input') ?? '') ?? null,
      stepMs: parseDuration(p('step_input') ?? '') ?? null,
      momentMs: parseTime(p('moment_input') ?? '') ?? null,
      stacked: p('stacked') === '1',
      dedup: p('deduplicate') === null ? d.dedup : p('deduplicate') === '1',
      partialResponse: p('partial_response') === null ? d.partialResponse : p('partial_response') === '1',
      maxSourceResolution:
        res !== null && (RESOLUTIONS as readonly string[]).includes(res) ? res : d.maxSourceResolution,
    });
  }
  return panels;
}

/** The URL parameters of `panels` (inverse of {@link panelsFromURL}). */
export function panelsToURL(panels: readonly PanelState[]): URLSearchParams {
  const out = new URLSearchParams();
  panels.forEach((s, i) => {
    const set = (k: string, v: string) => out.set(`g${i}.${k}`, v);
    set('expr', s.expr);
    set('tab', s.tab);
    set('range_input', formatDuration(s.rangeMs));
    if (s.endMs !== null) set('end_input', formatTime(s.endMs));
    if (s.momentMs !== null) set('moment_input', formatTime(s.momentMs));
    if (s.stepMs !== null) set('step_input', formatDuration(s.stepMs));
    set('stacked', s.stacked ? '1' : '0');
    set('deduplicate', s.dedup ? '1' : '0');
    set('partial_response', s.partialResponse ? '1' : '0');
    set('max_source_resolution', s.maxSourceResolution);
  });
  return out;
}

/** The step a graph asks for: the panel's, or range / 250 rounded down to whole seconds (at least 1 s). */
export function effectiveStepMs(s: PanelState): number {
  return s.stepMs ?? Math.max(1000, Math.floor(s.rangeMs / 250 / 1000) * 1000);
}

/** The query parameters Thanos's UI sends for these options. */
export function thanosParams(s: PanelState, form: URLSearchParams): void {
  form.set('dedup', String(s.dedup));
  form.set('partial_response', String(s.partialResponse));
  form.set('max_source_resolution', s.maxSourceResolution);
}
