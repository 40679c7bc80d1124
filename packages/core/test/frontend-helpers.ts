// Shared by the frontend tests: a seeded PRNG and a counting proxy in front of a real downstream.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Deterministic PRNG (mulberry32) for randomized table cases. */
export function createTestingRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One request the proxy saw: path and form parameters (query string plus urlencoded body). */
export interface SeenRequest {
  path: string;
  params: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/**
 * A real HTTP proxy in front of the downstream that records every request and can answer the next
 * `failNext` range queries with a 503 itself (a flaky querier).
 */
export interface CountingProxy {
  readonly url: string;
  readonly seen: SeenRequest[];
  failNext: number;
  /** Range query requests seen so far. */
  rangeQueries(): SeenRequest[];
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const seen: SeenRequest[] = [];
  const proxy: CountingProxy = {
    url: '',
    seen,
    failNext: 0,
    rangeQueries: () => seen.filter((s) => s.path.endsWith('/api/v1/query_range')),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(url.search);
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      for (const [k, v] of new URLSearchParams(body.toString())) params.append(k, v);
    seen.push({ path: url.pathname, params, headers: req.headers });
    if (url.pathname.endsWith('/query_range') && proxy.failNext > 0) {
      proxy.failNext--;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end('{"status":"error","errorType":"unavailable","error":"injected failure"}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    const r = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    const out = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain' });
    res.end(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
