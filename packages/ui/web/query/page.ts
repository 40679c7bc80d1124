import { h } from '../dom.ts';
import { createPanel, type Panel } from './panel.ts';
import { defaultPanel, type PanelState, panelsFromURL, panelsToURL } from './state.ts';

/**
 * The query page (`/` and `/graph`): panels read from and written to the URL (Prometheus's
 * `g<N>.*` parameters), each run on load when it has an expression.
 */
export function renderQueryPage(root: HTMLElement): void {
  const panels: Panel[] = [];
  const list = h('div', { class: 'panels' });
  const writeURL = () => {
    const params = panelsToURL(panels.map((p) => p.state()));
    history.replaceState(null, '', `${location.pathname}?${params}`);
  };
  const add = (state: PanelState, run: boolean) => {
    const panel = createPanel(state, {
      onChange: writeURL,
      onRemove: () => {
        panels.splice(panels.indexOf(panel), 1);
        panel.destroy();
        writeURL();
      },
    });
    panels.push(panel);
    list.append(panel.el);
    if (run && state.expr.trim() !== '') void panel.execute();
    return panel;
  };
  root.append(
    list,
    h(
      'button',
      {
        class: 'btn primary add-panel',
        onclick: () => {
          add(defaultPanel(), false);
          writeURL();
        },
      },
      'Add Panel',
    ),
  );
  const initial = panelsFromURL(new URLSearchParams(location.search));
  if (initial.length === 0) initial.push(defaultPanel());
  for (const s of initial) add(s, true);
  writeURL();
}
