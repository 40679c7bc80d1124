import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { availableCores } from '../concurrency/cores.js';
import { writeSuccess } from '../http/api-error.js';
import type { BuildInfo, RequestHandler } from '../http/query-api.js';
import { goTimeJSON } from './http.js';

/** Options of {@link createStatusHandler}. */
export interface StatusHandlerOptions {
  /**
   * The component's flags by name without dashes, values as given or defaulted (Thanos's
   * /api/v1/status/flags map). Absent: /status/flags is not handled.
   */
  flags?: Readonly<Record<string, string>>;
  /** Serve /status/runtimeinfo. Default true. */
  runtimeInfo?: boolean;
  /** Serve /status/buildinfo with these fields (the querier's query API already does; leave absent there). */
  buildInfo?: Partial<BuildInfo>;
  /** When the process started, ms since the epoch (runtimeinfo's startTime). Default: when the handler was made. */
  startTimeMs?: number;
  /** Mount point. Default '/api/v1'. */
  prefix?: string;
}

/**
 * Thanos's runtime information in its field names, filled with Node's equivalents: goroutineCount
 * counts the event loop's active resources, GOMAXPROCS the available parallelism, GOMEMLIMIT the
 * V8 heap limit in bytes; GOGC and GODEBUG are those environment variables as Thanos reports them.
 */
export function runtimeInfo(startTimeMs: number): Record<string, unknown> {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    cwd = '<error retrieving current working directory>';
  }
  return {
    startTime: goTimeJSON(startTimeMs),
    CWD: cwd,
    goroutineCount: process.getActiveResourcesInfo().length,
    GOMAXPROCS: availableCores(),
    GOGC: process.env.GOGC ?? '',
    GODEBUG: process.env.GODEBUG ?? '',
    GOMEMLIMIT: getHeapStatistics().heap_size_limit,
  };
}

/**
 * Thanos's `/api/v1/status/flags`, `/api/v1/status/runtimeinfo` and (optionally)
 * `/api/v1/status/buildinfo` (pkg/api BaseAPI). GET only; resolves false for other paths, so
 * mount it before a handler that answers 404 under the same prefix.
 */
export function createStatusHandler(opts: StatusHandlerOptions = {}): RequestHandler {
  const prefix = opts.prefix ?? '/api/v1';
  const start = opts.startTimeMs ?? Date.now();
  const build: BuildInfo | undefined = opts.buildInfo && {
    version: '0.1.0',
    revision: 'unknown',
    branch: 'unknown',
    buildUser: 'unknown',
    buildDate: 'unknown',
    goVersion: `node${process.versions.node}`,
    ...opts.buildInfo,
  };
  const routes: Record<string, () => unknown> = {};
  if (opts.flags) {
    const flags = { ...opts.flags };
    routes['/status/flags'] = () => flags;
  }
  if (opts.runtimeInfo ?? true) routes['/status/runtimeinfo'] = () => runtimeInfo(start);
  if (build) routes['/status/buildinfo'] = () => build;
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!path.startsWith(`${prefix}/`)) return false;
    const route = routes[path.slice(prefix.length)];
    if (!route) return false;
    if (req.method !== 'GET') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return true;
    }
    writeSuccess(res, JSON.stringify(route()));
    return true;
  };
}
