// The progress bar of `thanos-ts compact` in one-shot mode on a terminal: one line at the bottom
// of stderr, redrawn in place, with log lines printed above it. Not used when stderr is not a
// TTY (logs stay exactly as they are) or with --wait (a service has no one watching).

import type { CompactorProgress } from '@thanos-ts/core/compact';

/** What the bar writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  /** Terminal width in characters; 80 when unknown or 0. */
  columns?: number;
  write(s: string): unknown;
}

const STEP_NAMES: Record<CompactorProgress['step'], string> = {
  sync: 'syncing metas',
  compact: 'compacting',
  downsample: 'downsampling',
  retention: 'applying retention',
  cleanup: 'cleaning up',
};

/** Formats ms as `1m05s` / `42s` for the bar. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Renders one bar line, at most `width` characters: step, a bar of done/total (units are groups
 * when compacting, blocks when downsampling), the count, elapsed time, then the item and its
 * phase, cut with "…" to fit. Steps without a total show no bar.
 */
export function renderProgressLine(p: CompactorProgress, width: number, elapsedMs: number): string {
  const unit = p.step === 'compact' ? 'groups' : 'blocks';
  let line = STEP_NAMES[p.step];
  if (p.total > 0) {
    const barWidth = Math.max(10, Math.min(30, Math.floor(width / 4)));
    const filled = Math.min(barWidth, Math.round((p.done / p.total) * barWidth));
    line += ` [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${p.done}/${p.total} ${unit}`;
  } else if (p.step === 'compact' || p.step === 'downsample') line += ` (no ${unit} to work on)`;
  line += ` ${formatElapsed(elapsedMs)}`;
  if (p.item !== '') line += ` ${p.phase ? `${p.phase} ` : ''}${p.item}`;
  if (line.length > width) line = `${line.slice(0, Math.max(0, width - 1))}…`;
  return line;
}

/** A live progress line; `log` prints a line above it. */
export interface ProgressBar {
  update(p: CompactorProgress): void;
  /** Writes a (newline-terminated) log line above the bar. */
  log(line: string): void;
  /** Removes the bar; later log lines go straight through. */
  done(): void;
}

/**
 * A bar on `stream` when it is a TTY, or undefined (then nothing changes: the caller logs as
 * usual). Redraws at most every `minIntervalMs` (default 100) unless the step or item changes.
 */
export function createProgressBar(
  stream: ProgressStream,
  opts: { now?: () => number; minIntervalMs?: number } = {},
): ProgressBar | undefined {
  if (!stream.isTTY) return undefined;
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 100;
  const begin = now();
  let last: CompactorProgress | undefined;
  let shown = '';
  let drawnAt = Number.NEGATIVE_INFINITY;
  let finished = false;
  // \r plus "erase to end of line" clears the bar before anything is written over it.
  const clear = () => {
    if (shown !== '') stream.write('\r\x1b[K');
  };
  const draw = () => {
    if (!last || finished) return;
    shown = renderProgressLine(last, Math.max(20, (stream.columns || 80) - 1), now() - begin);
    stream.write(`\r\x1b[K${shown}`);
    drawnAt = now();
  };
  return {
    update(p) {
      const changed = !last || last.step !== p.step || last.item !== p.item || last.phase !== p.phase;
      last = p;
      if (changed || now() - drawnAt >= minInterval) draw();
    },
    log(line) {
      if (finished) {
        stream.write(line);
        return;
      }
      clear();
      stream.write(line);
      if (shown !== '') draw();
    },
    done() {
      if (finished) return;
      clear();
      shown = '';
      finished = true;
    },
  };
}
