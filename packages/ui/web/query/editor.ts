// The query input of a panel. It starts as a plain text area — part of the page's first script,
// so it takes input (and Enter runs the query) as soon as the page is drawn — and is replaced in
// place by the CodeMirror editor (highlighting, completion, linting: ./codemirror.ts, a separate
// chunk) once that has loaded, keeping the text, the cursor and the focus.

/** A PromQL input line. */
export interface QueryEditor {
  value(): string;
  /** Underlines the range a server error names (`1:14: parse error: …`); none when it names none. */
  showServerError(message: string): void;
  focus(): void;
  destroy(): void;
  /** Resolves when the full editor has replaced the plain input (at once when it already has). */
  readonly upgraded: Promise<void>;
}

/**
 * The 1-based `line:col` a Prometheus parse error names (`invalid parameter "query": 1:14: parse
 * error: …`), as offsets into `doc`.
 */
export function errorPosition(message: string, doc: string): { from: number; to: number } | undefined {
  const m = /(?:^|: )(\d+):(\d+): parse error/.exec(message);
  if (!m) return undefined;
  const lines = doc.split('\n');
  const line = Number(m[1]);
  const col = Number(m[2]);
  if (line < 1 || line > lines.length) return undefined;
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += (lines[i]?.length ?? 0) + 1;
  const from = Math.min(offset + col - 1, doc.length);
  return { from, to: Math.min(from + 1, doc.length) };
}

/** Loads the CodeMirror chunk once per page; every panel's input upgrades from the same promise. */
let codemirror: Promise<typeof import('./codemirror.ts')> | undefined;

/**
 * A query input in `parent`: a text area at once, upgraded to the CodeMirror PromQL editor when
 * its chunk has loaded. Enter runs the query (Shift-Enter adds a line) in both.
 */
export function createQueryEditor(parent: HTMLElement, initial: string, onExecute: () => void): QueryEditor {
  const area = document.createElement('textarea');
  area.className = 'plain-editor';
  area.rows = 1;
  area.spellcheck = false;
  area.placeholder = 'Expression (press Shift+Enter for newlines)';
  area.setAttribute('aria-label', 'Expression');
  area.value = initial;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      onExecute();
    }
  });
  parent.append(area);
  let full: QueryEditor | undefined;
  let destroyed = false;
  let pendingError = '';
  codemirror ??= import('./codemirror.ts');
  const upgraded = codemirror.then((m) => {
    if (destroyed) return;
    const focused = document.activeElement === area;
    const sel = { anchor: area.selectionStart ?? area.value.length, head: area.selectionEnd ?? area.value.length };
    if (area.selectionDirection === 'backward') [sel.anchor, sel.head] = [sel.head, sel.anchor];
    const ed = m.createCodeMirrorEditor(parent, area.value, onExecute, sel);
    area.remove();
    full = ed;
    if (pendingError) ed.showServerError(pendingError);
    if (focused) ed.focus();
  });
  return {
    value: () => (full ? full.value() : area.value),
    showServerError(message) {
      if (full) full.showServerError(message);
      else pendingError = message;
    },
    focus: () => (full ? full.focus() : area.focus()),
    destroy() {
      destroyed = true;
      full?.destroy();
      area.remove();
    },
    upgraded,
  };
}
