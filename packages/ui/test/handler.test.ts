import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { createUIHandler, type UIHandlerOptions } from '@thanos-ts/ui';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const d of dirs) await removeTempDir(d);
});

/** Serves the handler alone on a free port; unhandled paths answer 404 "unhandled". */
async function serve(opts: UIHandlerOptions): Promise<string> {
  const handler = createUIHandler(opts);
  const server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end('unhandled');
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fake build: a manifest and two small assets (content is not a real bundle). */
async function fakeAssets(): Promise<string> {
  const dir = await makeTempDir('ui-assets-');
  dirs.push(dir);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ js: 'app-AAAA.js', css: 'app-BBBB.css' }));
  await writeFile(join(dir, 'app-AAAA.js'), `console.log(${JSON.stringify('x'.repeat(2000))});\n`);
  await writeFile(join(dir, 'app-BBBB.css'), 'body{color:red}\n');
  return dir;
}

describe('createUIHandler', () => {
  it('serves the chunks and preloads the page script imports of the page that asks for them', async () => {
    const dir = await fakeAssets();
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify({
        js: 'app-AAAA.js',
        css: 'app-BBBB.css',
        chunks: ['chunk-CCCC.js', 'chunk-DDDD.js'],
        preload: { query: ['chunk-CCCC.js'] },
      }),
    );
    await writeFile(join(dir, 'chunk-CCCC.js'), 'export const c = 1;\n');
    await writeFile(join(dir, 'chunk-DDDD.js'), 'export const d = 2;\n');
    const url = await serve({ pages: ['query', 'stores'], assetsDir: dir, routePrefix: '/p' });
    const query = await (await fetch(`${url}/p/graph`)).text();
    expect(query).toContain('<link rel="modulepreload" href="/p/static/chunk-CCCC.js">');
    expect(query).not.toContain('chunk-DDDD.js');
    expect(await (await fetch(`${url}/p/stores`)).text()).not.toContain('modulepreload');
    for (const f of ['chunk-CCCC.js', 'chunk-DDDD.js']) {
      const res = await fetch(`${url}/p/static/${f}`);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    }
  });

  it('answers 503 with the build command when the assets were never built', async () => {
    const empty = await makeTempDir('ui-empty-');
    dirs.push(empty);
    const url = await serve({ pages: ['query'], assetsDir: empty });
    const res = await fetch(`${url}/graph`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^thanos-ts web UI assets are missing in .*: run `npm run build`\n$/);
  });

  it.each([
    { name: 'query page at /', pages: ['query', 'stores'] as const, path: '/', page: 'query' },
    { name: 'query page at /graph', pages: ['query'] as const, path: '/graph', page: 'query' },
    { name: 'stores page', pages: ['query', 'stores'] as const, path: '/stores', page: 'stores' },
    { name: 'blocks page at / without a query page', pages: ['blocks'] as const, path: '/', page: 'blocks' },
    { name: 'blocks page at /blocks', pages: ['blocks'] as const, path: '/blocks', page: 'blocks' },
    { name: 'page not configured', pages: ['blocks'] as const, path: '/graph', page: undefined },
    { name: 'API path', pages: ['query'] as const, path: '/api/v1/query', page: undefined },
  ])('$name', async ({ pages, path, page }) => {
    const url = await serve({ pages, assetsDir: await fakeAssets(), title: 'T<x>' });
    const res = await fetch(`${url}${path}`);
    const body = await res.text();
    if (page === undefined) {
      expect(body).toBe('unhandled');
      return;
    }
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(body).toContain('<title>T&#60;x&#62;</title>');
    expect(body).toContain('src="/static/app-AAAA.js"');
    const config = JSON.parse(/<script id="ui-config" type="application\/json">(.*?)<\/script>/.exec(body)?.[1] ?? '');
    expect(config).toEqual({ page, pages: [...pages], title: 'T<x>', prefix: '' });
  });

  it('serves assets gzipped with an ETag, 304 on a match, immutable caching', async () => {
    const url = await serve({ pages: ['query'], assetsDir: await fakeAssets() });
    const res = await fetch(`${url}/static/app-AAAA.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // fetch decodes gzip itself; the header says it was sent compressed.
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toContain('console.log');
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await fetch(`${url}/static/app-AAAA.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const missing = await fetch(`${url}/static/app-ZZZZ.js`);
    expect(missing.status).toBe(404);
    const post = await fetch(`${url}/graph`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('sends a smaller gzip body when asked for it', async () => {
    const dir = await fakeAssets();
    const url = await serve({ pages: ['query'], assetsDir: dir });
    const { request } = await import('node:http');
    const raw = await new Promise<Buffer>((resolve, reject) => {
      request(`${url}/static/app-AAAA.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(raw.length).toBeLessThan(200);
    expect(gunzipSync(raw).toString()).toContain('x'.repeat(2000));
  });

  it('lives under a route prefix', async () => {
    const url = await serve({ pages: ['query'], assetsDir: await fakeAssets(), routePrefix: '/thanos/' });
    expect(await (await fetch(`${url}/graph`)).text()).toBe('unhandled');
    const body = await (await fetch(`${url}/thanos/graph`)).text();
    expect(body).toContain('src="/thanos/static/app-AAAA.js"');
    expect((await fetch(`${url}/thanos/static/app-BBBB.css`)).status).toBe(200);
  });
});
