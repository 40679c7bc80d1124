import type { Lifecycle, Logger } from '@thanos-ts/core';
import { shutdownTracing } from './flags/tracing.js';

/** What {@link runUntilSignal} runs: a component, and what to release after it. */
export interface RunOptions {
  logger: Logger;
  /** Released after the component closes (the bucket the CLI opened for it, …). */
  cleanup?: () => Promise<void>;
  /** Called once the component has started (a log line with its addresses, …). */
  onStarted?: () => void;
  /** Called on SIGHUP (rule and config reloads); absent, SIGHUP is left to Node's default. */
  onReload?: () => void;
}

/**
 * Every long-running command's main loop: starts the component, runs until SIGINT or SIGTERM
 * (also during start), then closes it gracefully. Thanos logs the same "caught signal" line.
 */
export async function runUntilSignal(component: Lifecycle, opts: RunOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    opts.logger.info('caught signal. Exiting.', { signal });
    stop.abort(new DOMException(`caught ${signal}`, 'AbortError'));
  };
  const onReload = () => opts.onReload?.();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (opts.onReload) process.on('SIGHUP', onReload);
  try {
    try {
      await component.start(stop.signal);
    } catch (err) {
      if (stop.signal.aborted) return;
      throw err;
    }
    // Thanos's prober logs the same line when a component turns ready.
    opts.logger.info('changing probe status', { status: 'ready' });
    opts.onStarted?.();
    if (!stop.signal.aborted)
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onReload);
    await component.close();
    await opts.cleanup?.();
    // The last spans (the shutdown's own included) are exported before the process exits.
    await shutdownTracing();
  }
}
