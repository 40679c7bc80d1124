import { canConnect } from './net.js';
import { requireProgram } from './programs.js';
import { type RunningService, startService } from './service.js';

/** Starts memcached on 127.0.0.1 (TCP only, 64 MiB). Pass `port` to restart on the same address. */
export function startMemcached(opts: { port?: number } = {}): Promise<RunningService> {
  const binary = requireProgram('memcached');
  return startService({
    name: 'memcached',
    command: binary,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    // -u is required when running as root; -U 0 turns UDP off.
    args: (port) => ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', '-u', 'root'],
    ready: (port) => canConnect(port),
  });
}
