import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, ThanosError } from '@thanos-ts/tsdb';
import { Counter, Gauge, type Registry } from 'prom-client';
import { request } from 'undici';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { describeNetworkError } from './remote-read.js';

/** Options of `createReloader`. Durations are ms. */
export interface ReloaderOptions {
  /** Prometheus's reload endpoint, e.g. http://localhost:9090/-/reload (needs --web.enable-lifecycle). */
  readonly reloadUrl: string;
  /** Configuration file to watch (--reloader.config-file). */
  readonly configFile?: string;
  /**
   * Where to write the configuration with `$(VAR)` replaced by environment variables
   * (--reloader.config-envsubst-file); Prometheus then reads this file.
   */
  readonly configOutputFile?: string;
  /** Directories whose files are watched, e.g. rule files (--reloader.rule-dir). */
  readonly watchedDirs?: readonly string[];
  /** How often files are re-checked even without change events (--reloader.watch-interval, default 3 min). */
  readonly watchInterval?: number;
  /** Delay between reload attempts while Prometheus refuses (--reloader.retry-interval, default 5 s). */
  readonly retryInterval?: number;
  /** Variables for `$(VAR)`; process.env when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly registry?: Registry;
}

/** Watches Prometheus's configuration and rule files and asks Prometheus to reload when they change. */
export interface Reloader {
  /** Starts watching, then applies the current files once (rejects when that first apply fails; watching goes on). */
  start(): Promise<void>;
  /** Checks the files now; resolves true when they changed and Prometheus reloaded. */
  apply(): Promise<boolean>;
  close(): Promise<void>;
}

/** A configuration refers to an unset environment variable, or a reload kept failing. */
export class ReloaderError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_RELOADER', message, options);
  }
}

const ENV_RE = /\$\(([a-zA-Z_0-9]+)\)/g;

/** Replaces `$(VAR)` references like Thanos's reloader; an unset variable is an error. */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>, file = 'config'): string {
  return text.replace(ENV_RE, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ReloaderError(`${file}: found reference to unset environment variable "${name}"`);
    return v;
  });
}

/**
 * Thanos's config reloader (pkg/reloader): hashes the configuration file and every file under
 * the watched directories; when the hash changes it writes the env-substituted configuration (if
 * asked) and POSTs Prometheus's /-/reload, retrying until it succeeds or the next check is due.
 * Changes are noticed through file-system events and, as a safety net, every `watchInterval`.
 */
export function createReloader(opts: ReloaderOptions): Reloader {
  if (!opts.configFile && (opts.watchedDirs?.length ?? 0) === 0) {
    throw new InvalidArgumentError('reloader: nothing to watch (give a config file or watched directories)');
  }
  if (opts.configOutputFile && !opts.configFile) {
    throw new InvalidArgumentError('reloader: an envsubst output file needs a config file');
  }
  const log = opts.logger ?? NOP_LOGGER;
  const env = opts.env ?? process.env;
  const watchInterval = opts.watchInterval ?? 180_000;
  const retryInterval = opts.retryInterval ?? 5_000;
  const metrics = opts.registry
    ? {
        reloads: new Counter({
          name: 'thanos_sidecar_reloader_reloads_total',
          help: 'Total number of reload requests.',
          registers: [opts.registry],
        }),
        failures: new Counter({
          name: 'thanos_sidecar_reloader_reloads_failed_total',
          help: 'Total number of reload requests that failed.',
          registers: [opts.registry],
        }),
        lastSuccess: new Gauge({
          name: 'thanos_sidecar_reloader_last_reload_successful',
          help: 'Whether the last reload attempt was successful',
          registers: [opts.registry],
        }),
      }
    : undefined;
  let lastHash = '';
  let closed = false;
  const stopper = new AbortController();
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let running: Promise<boolean> = Promise.resolve(false);

  async function hashAll(): Promise<{ hash: string; config?: string }> {
    const h = createHash('sha256');
    let config: string | undefined;
    if (opts.configFile) {
      config = await readFile(opts.configFile, 'utf8');
      h.update(opts.configFile).update('\0').update(config).update('\0');
    }
    const walk = async (dir: string): Promise<void> => {
      const entries = (await readdir(dir)).sort();
      for (const name of entries) {
        const path = join(dir, name);
        const st = await stat(path);
        if (st.isDirectory()) await walk(path);
        else
          h.update(path)
            .update('\0')
            .update(await readFile(path))
            .update('\0');
      }
    };
    for (const d of opts.watchedDirs ?? []) await walk(d);
    return { hash: h.digest('hex'), ...(config === undefined ? {} : { config }) };
  }

  async function reload(): Promise<void> {
    const deadline = Date.now() + watchInterval;
    for (;;) {
      metrics?.reloads.inc();
      let detail: string;
      try {
        const res = await request(opts.reloadUrl, { method: 'POST', signal: stopper.signal });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          metrics?.lastSuccess.set(1);
          return;
        }
        detail = `answered ${res.statusCode}: ${text.trim()}`;
      } catch (err) {
        if (stopper.signal.aborted) throw err;
        detail = describeNetworkError(err);
      }
      metrics?.failures.inc();
      metrics?.lastSuccess.set(0);
      if (Date.now() + retryInterval > deadline) {
        throw new ReloaderError(`trigger reload ${opts.reloadUrl}: ${detail}`);
      }
      log.warn('trigger reload failed, retrying', { url: opts.reloadUrl, err: detail });
      await new Promise((r) => setTimeout(r, retryInterval));
    }
  }

  async function doApply(): Promise<boolean> {
    const { hash, config } = await hashAll();
    if (hash === lastHash) return false;
    if (opts.configOutputFile && config !== undefined) {
      const out = expandEnv(config, env, opts.configFile);
      const tmp = join(dirname(opts.configOutputFile), `.${Date.now()}.reloader.tmp`);
      await writeFile(tmp, out);
      await rename(tmp, opts.configOutputFile);
    }
    await reload();
    lastHash = hash;
    log.info('Reload triggered', {
      url: opts.reloadUrl,
      cfg_in: opts.configFile ?? '',
      dirs: (opts.watchedDirs ?? []).join(','),
    });
    return true;
  }

  function apply(): Promise<boolean> {
    const p = running.then(doApply, doApply);
    running = p.catch(() => false);
    return p;
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(debounce);
    // Editors write files in several steps: wait for the dust to settle.
    debounce = setTimeout(() => {
      apply().catch((err) => log.error('reloader apply failed', { err }));
    }, 100);
    debounce.unref();
  }

  return {
    apply,
    async start() {
      // Watch first: a failing first apply (Prometheus still starting) is retried on the next event or tick.
      const dirs = new Set<string>(opts.watchedDirs ?? []);
      if (opts.configFile) dirs.add(dirname(opts.configFile));
      for (const d of dirs) {
        try {
          watchers.push(watch(d, { persistent: false }, schedule));
        } catch (err) {
          log.warn('cannot watch directory, relying on the watch interval', { dir: d, err });
        }
      }
      timer = setInterval(() => {
        apply().catch((err) => log.error('reloader apply failed', { err }));
      }, watchInterval);
      timer.unref();
      await apply();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(debounce);
      for (const w of watchers) w.close();
      stopper.abort();
      await running;
    },
  };
}
