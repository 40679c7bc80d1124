// The CodeMirror PromQL editor, loaded after the page is up (see editor.ts): CodeMirror and
// Prometheus's PromQL extension are most of the UI's script, and parsing them is what kept the
// query page from taking input sooner.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration,
  type DecorationSet,
  EditorView,
  highlightSpecialChars,
  keymap,
  placeholder,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { apiURL } from '../api.ts';
import { errorPosition, type QueryEditor } from './editor.ts';

// Colours close to Prometheus's own editor theme (web/ui/mantine-ui/src/codemirror/theme.ts).
const promqlHighlight = HighlightStyle.define([
  { tag: tags.number, color: '#09885a' },
  { tag: tags.string, color: '#a31515' },
  { tag: tags.keyword, color: '#008080' },
  { tag: tags.function(tags.variableName), color: '#008080' },
  { tag: tags.labelName, color: '#800000' },
  { tag: tags.operator, color: '#0000ff' },
  { tag: tags.modifier, color: '#0000ff' },
  { tag: tags.paren, color: '#555' },
  { tag: tags.squareBracket, color: '#555' },
  { tag: tags.brace, color: '#555' },
  { tag: tags.invalid, color: 'red' },
  { tag: tags.comment, color: '#888', fontStyle: 'italic' },
]);

const theme = EditorView.theme({
  '&': { border: '1px solid #ced4da', borderRadius: '4px', background: '#fff', fontSize: '14px' },
  '&.cm-focused': { outline: 'none', borderColor: '#80bdff', boxShadow: '0 0 0 2px rgba(0,123,255,.2)' },
  '.cm-content': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', padding: '6px 0' },
  '.cm-line': { padding: '0 8px' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': {
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace',
    maxHeight: '16em',
  },
  '.cm-server-error': { textDecoration: 'underline wavy red', background: 'rgba(255,0,0,.12)' },
  '.cm-completionDetail': { color: '#888', marginLeft: '1em', fontStyle: 'normal' },
});

// The range the server's last error names, underlined until the next edit or answer. A state field
// of its own (not the linter's diagnostics), so the client-side PromQL linter never clears it.
const setServerError = StateEffect.define<{ from: number; to: number; message: string } | null>();
const serverErrorMark = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let out = tr.docChanged ? Decoration.none : marks;
    for (const e of tr.effects) {
      if (!e.is(setServerError)) continue;
      out = e.value
        ? Decoration.set([
            Decoration.mark({ class: 'cm-server-error', attributes: { title: e.value.message } }).range(
              e.value.from,
              Math.max(e.value.to, e.value.from + 1),
            ),
          ])
        : Decoration.none;
    }
    return out;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/**
 * A CodeMirror editor with Prometheus's PromQL language: highlighting, its client-side linter,
 * and completion of functions, keywords, metric names, label names and values through the
 * component's own /api/v1/labels, /label/…/values and /series. Enter runs the query (Shift-Enter
 * adds a line); when the completion list is open Enter picks from it instead.
 */
export function createCodeMirrorEditor(
  parent: HTMLElement,
  initial: string,
  onExecute: () => void,
  selection?: { anchor: number; head: number },
): QueryEditor & { readonly view: EditorView } {
  const promql = new PromQLExtension().setComplete({
    remote: {
      url: `${location.origin}${apiURL('')}`,
      // Twelve hours back, as Prometheus's UI asks, so completion lists what is current.
      lookbackInterval: 12 * 3_600_000,
      cache: { maxAge: 5 * 60_000 },
      // Completion is best effort: an endpoint the component lacks (metadata) just lists less.
      httpErrorHandler: () => {},
    },
    maxMetricsMetadata: 10_000,
  });
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      ...(selection
        ? {
            selection: {
              anchor: Math.min(selection.anchor, initial.length),
              head: Math.min(selection.head, initial.length),
            },
          }
        : {}),
      extensions: [
        history(),
        highlightSpecialChars(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        syntaxHighlighting(promqlHighlight),
        placeholder('Expression (press Shift+Enter for newlines)'),
        EditorView.lineWrapping,
        theme,
        keymap.of([
          {
            key: 'Enter',
            run: () => {
              onExecute();
              return true;
            },
          },
          { key: 'Shift-Enter', run: insertNewlineAndIndent },
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...completionKeymap,
        ]),
        serverErrorMark,
        promql.asExtension(),
      ],
    }),
  });
  return {
    view,
    upgraded: Promise.resolve(),
    value: () => view.state.doc.toString(),
    showServerError(message) {
      const doc = view.state.doc.toString();
      const pos = errorPosition(message, doc);
      // An error at the very end (unexpected end of input) marks the last character.
      const at =
        pos && doc.length > 0
          ? { from: Math.min(pos.from, doc.length - 1), to: Math.min(pos.to, doc.length) }
          : undefined;
      view.dispatch({ effects: setServerError.of(at ? { ...at, message } : null) });
    },
    focus: () => view.focus(),
    destroy() {
      promql.destroy();
      view.destroy();
    },
  };
}
