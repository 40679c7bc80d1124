import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoreGateway } from './store-gateway.js';

/**
 * HTTP handler for `/loaded`: the blocks the gateway serves (and those it skips, with the
 * reason) as JSON (`?format=json` or `Accept: application/json`) or as a small HTML page.
 * Returns false for other paths so it composes with other handlers.
 */
export function createLoadedBlocksHandler(gateway: StoreGateway, path = '/loaded') {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return false;
    const blocks = gateway.blocks();
    const skipped = gateway.skippedBlocks();
    const wantsJson =
      url.searchParams.get('format') === 'json' || (req.headers.accept ?? '').includes('application/json');
    if (wantsJson) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { blocks, skipped } }));
      return true;
    }
    const iso = (ms: number) => new Date(ms).toISOString();
    const rows = blocks
      .map(
        (b) =>
          `<tr><td>${b.ulid}</td><td>${iso(b.minTime)}</td><td>${iso(b.maxTime)}</td><td>${b.resolution}</td><td>${esc(
            JSON.stringify(b.labels),
          )}</td><td>${b.numSeries ?? ''}</td><td>${b.loaded ? 'yes' : 'no'}</td></tr>`,
      )
      .join('\n');
    const skippedRows = skipped
      .map((s) => `<tr><td>${s.ulid}</td><td>${s.state}</td><td>${esc(s.error ?? '')}</td></tr>`)
      .join('\n');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>thanos-ts store: loaded blocks</title></head><body>
<h1>Loaded blocks (${blocks.length})</h1>
<table border="1"><tr><th>ULID</th><th>min time</th><th>max time</th><th>resolution (ms)</th><th>external labels</th><th>series</th><th>index in memory</th></tr>
${rows}
</table>
<h2>Skipped blocks (${skipped.length})</h2>
<table border="1"><tr><th>ULID</th><th>reason</th><th>error</th></tr>
${skippedRows}
</table></body></html>`);
    return true;
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}
