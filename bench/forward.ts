/**
 * Forwarding of HTTP requests for benches that stand a proxy or load balancer between a client and
 * the component measured (a Kubernetes Service, a counting proxy).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';

/** An answer read whole. */
export interface ForwardedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** Sends `req` on to `base` (same path, method, body and content type) and reads the answer. */
export async function forwardRequest(req: IncomingMessage, base: string): Promise<ForwardedAnswer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const r = await request(`${base}${req.url}`, {
    method: (req.method ?? 'GET') as 'GET',
    headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') },
    ...(req.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
  });
  return {
    status: r.statusCode,
    contentType: String(r.headers['content-type'] ?? 'text/plain'),
    body: Buffer.from(await r.body.arrayBuffer()),
  };
}

/** Writes a forwarded answer back to the client. */
export function replyWith(res: ServerResponse, a: ForwardedAnswer): void {
  res.writeHead(a.status, { 'Content-Type': a.contentType });
  res.end(a.body);
}
