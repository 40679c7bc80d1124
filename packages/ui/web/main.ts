import './styles.css';
import { setAPIPrefix } from './api.ts';
import { renderBlocksPage } from './blocks.ts';
import { h } from './dom.ts';
import { renderQueryPage } from './query/page.ts';
import { renderAlertsPage, renderRulesPage } from './rules.ts';
import { renderStoresPage } from './stores.ts';

/** What the server embeds in each page (src/handler.ts). */
interface UIConfig {
  page: 'query' | 'stores' | 'rules' | 'alerts' | 'blocks';
  pages: UIConfig['page'][];
  title: string;
  prefix: string;
}

const NAV: Record<UIConfig['page'], { label: string; path: string }> = {
  query: { label: 'Query', path: '/graph' },
  stores: { label: 'Stores', path: '/stores' },
  rules: { label: 'Rules', path: '/rules' },
  alerts: { label: 'Alerts', path: '/alerts' },
  blocks: { label: 'Blocks', path: '/blocks' },
};

function main(): void {
  // Marks read by bench/ui-interactive.ts: when the bundle has been evaluated and the page drawn.
  performance.mark('ui-main');
  const config = JSON.parse(document.getElementById('ui-config')?.textContent ?? '{}') as UIConfig;
  setAPIPrefix(config.prefix);
  const app = document.getElementById('app') as HTMLElement;
  const content = h('main', { class: 'content', 'data-page': config.page });
  app.append(
    h(
      'nav',
      { class: 'navbar' },
      h('a', { class: 'brand', href: `${config.prefix}/` }, config.title),
      config.pages.map((p) =>
        h(
          'a',
          { class: p === config.page ? 'nav-link active' : 'nav-link', href: `${config.prefix}${NAV[p].path}` },
          NAV[p].label,
        ),
      ),
    ),
    content,
  );
  switch (config.page) {
    case 'query':
      renderQueryPage(content);
      break;
    case 'stores':
      void renderStoresPage(content);
      break;
    case 'rules':
      void renderRulesPage(content);
      break;
    case 'alerts':
      void renderAlertsPage(content);
      break;
    case 'blocks':
      void renderBlocksPage(content);
      break;
  }
  performance.mark('ui-rendered');
}

main();
