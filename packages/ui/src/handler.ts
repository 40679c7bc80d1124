import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** A page the UI can serve. */
export type UIPage = 'query' | 'stores' | 'rules' | 'alerts' | 'blocks';

/** Options of {@link createUIHandler}. */
export interface UIHandlerOptions {
  /**
   * Pages to serve, in navigation order: 'query' at `/` and `/graph`, 'stores' at `/stores`,
   * 'rules' at `/rules`, 'alerts' at `/alerts`, 'blocks' at `/blocks` (and at `/` when there is no
   * query page, as Thanos's compactor and `tools bucket web` do).
   */
  pages: readonly UIPage[];
  /** Shown in the navigation bar and the window title. Default 'thanos-ts'. */
  title?: string;
  /**
   * Path prefix the pages and their API calls live under (Thanos's --web.route-prefix), without a
   * trailing slash. Default '' (the root).
   */
  routePrefix?: string;
  /** Directory of the built assets. Default: `dist/assets` of this package. */
  assetsDir?: string;
  /**
   * External URL of a querier (Thanos's --alert.query-url), put in the page config as `queryURL`:
   * rule and alert expressions link to `<queryURL>/graph?g0.expr=…` as in Thanos's UI. Default
   * absent: the pages link to their own `/graph`.
   */
  queryURL?: string;
}

/** A Node request handler; resolves false when the path is not one of the UI's (core's RequestHandler shape). */
export type UIRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** What scripts/build-assets.ts writes to `dist/assets/manifest.json`. */
export interface AssetManifest {
  /** File name of the page script (content-hashed), relative to the assets directory. */
  js: string;
  /** File name of the style sheet (content-hashed). */
  css: string;
  /** Further script chunks the page script imports, loaded when needed (content-hashed). Default none. */
  chunks?: string[];
  /**
   * Chunks each page will import at once (e.g. the query page's editor), announced with
   * `<link rel="modulepreload">` so they download alongside the page script. Default none.
   */
  preload?: Partial<Record<UIPage, string[]>>;
}

/** The URL path under the route prefix where assets are served. */
export const ASSETS_PATH = '/static/';

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

interface LoadedAssets {
  manifest: AssetManifest;
  files: Map<string, Asset>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The assets directory: next to the bundle (dist/assets) or, when running from source, the built one. */
function defaultAssetsDir(): string {
  const nextToModule = fileURLToPath(new URL('./assets', import.meta.url));
  if (existsSync(nextToModule)) return nextToModule;
  return fileURLToPath(new URL('../dist/assets', import.meta.url));
}

function asset(body: Buffer, type: string): Asset {
  return {
    body,
    // Level 9 once at load: the files are static and served many times.
    gzip: gzipSync(body, { level: 9 }),
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /\bgzip\b/.test(ae);
}

function send(req: IncomingMessage, res: ServerResponse, a: Asset, cacheControl: string): void {
  const headers: Record<string, string> = {
    'Content-Type': a.type,
    ETag: a.etag,
    'Cache-Control': cacheControl,
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
  };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gz = acceptsGzip(req);
  const body = gz ? a.gzip : a.body;
  if (gz) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Page for a path under the prefix, or undefined when the path is not a page. */
function pageOf(path: string, pages: readonly UIPage[]): UIPage | undefined {
  switch (path) {
    case '/':
    case '':
      if (pages.includes('query')) return 'query';
      return pages.includes('blocks') ? 'blocks' : undefined;
    case '/graph':
      return pages.includes('query') ? 'query' : undefined;
    case '/stores':
    case '/rules':
    case '/alerts':
    case '/blocks': {
      const p = path.slice(1) as UIPage;
      return pages.includes(p) ? p : undefined;
    }
  }
  return undefined;
}

/**
 * Serves thanos-ts's web pages and their static assets (built to `dist/assets` by `npm run build`,
 * gzip and ETag, no network at run time). The pages call the component's own JSON APIs under the
 * same prefix (`/api/v1/*`). Resolves false for paths it does not serve, so it can sit in a
 * component's handler list. When the assets were never built it answers its paths with 503 and a
 * one-line message. Safe to call concurrently; assets are read once, at the first request.
 */
export function createUIHandler(opts: UIHandlerOptions): UIRequestHandler {
  const prefix = (opts.routePrefix ?? '').replace(/\/+$/, '');
  const title = opts.title ?? 'thanos-ts';
  const assetsDir = opts.assetsDir ?? defaultAssetsDir();
  const pages = [...opts.pages];
  let loading: Promise<LoadedAssets | undefined> | undefined;
  const htmlCache = new Map<UIPage, Asset>();

  async function load(): Promise<LoadedAssets | undefined> {
    let manifest: AssetManifest;
    try {
      manifest = JSON.parse(await readFile(join(assetsDir, 'manifest.json'), 'utf8')) as AssetManifest;
    } catch {
      return undefined;
    }
    const files = new Map<string, Asset>();
    for (const name of [manifest.js, manifest.css, ...(manifest.chunks ?? [])]) {
      const ext = name.slice(name.lastIndexOf('.'));
      files.set(name, asset(await readFile(join(assetsDir, name)), CONTENT_TYPES[ext] ?? 'application/octet-stream'));
    }
    return { manifest, files };
  }

  function html(page: UIPage, loaded: LoadedAssets): Asset {
    const cached = htmlCache.get(page);
    if (cached) return cached;
    const config = { page, pages, title, prefix, ...(opts.queryURL !== undefined ? { queryURL: opts.queryURL } : {}) };
    // `<` is escaped so no label value or title can close the script element.
    const json = JSON.stringify(config).replace(/</g, '\\u003c');
    const body = Buffer.from(
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)}</title>
<link rel="stylesheet" href="${prefix}${ASSETS_PATH}${loaded.manifest.css}">
${(loaded.manifest.preload?.[page] ?? []).map((f) => `<link rel="modulepreload" href="${prefix}${ASSETS_PATH}${f}">\n`).join('')}</head>
<body>
<div id="app"></div>
<script id="ui-config" type="application/json">${json}</script>
<script type="module" src="${prefix}${ASSETS_PATH}${loaded.manifest.js}"></script>
</body>
</html>
`,
    );
    const a = asset(body, 'text/html; charset=utf-8');
    htmlCache.set(page, a);
    return a;
  }

  return async (req, res) => {
    const method = req.method ?? 'GET';
    let path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (prefix !== '') {
      if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
      path = path.slice(prefix.length);
    }
    const isAsset = path.startsWith(ASSETS_PATH);
    const page = isAsset ? undefined : pageOf(path, pages);
    if (!isAsset && page === undefined) return false;
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' });
      res.end('Method Not Allowed\n');
      return true;
    }
    loading ??= load();
    const loaded = await loading;
    if (!loaded) {
      // Retry on the next request: a build may finish while the process runs.
      loading = undefined;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`thanos-ts web UI assets are missing in ${assetsDir}: run \`npm run build\`\n`);
      return true;
    }
    if (page !== undefined) {
      send(req, res, html(page, loaded), 'no-cache');
      return true;
    }
    const file = loaded.files.get(path.slice(ASSETS_PATH.length));
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return true;
    }
    // Names carry a content hash, so a browser may keep them for good.
    send(req, res, file, 'public, max-age=31536000, immutable');
    return true;
  };
}
