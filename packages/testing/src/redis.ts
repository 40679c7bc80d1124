import { canConnect } from './net.js';
import { requireProgram } from './programs.js';
import { type RunningService, startService } from './service.js';

/** Starts redis-server on 127.0.0.1 without persistence. Pass `port` to restart on the same address. */
export function startRedis(opts: { port?: number } = {}): Promise<RunningService> {
  const binary = requireProgram('redis-server');
  return startService({
    name: 'redis',
    command: binary,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    ready: (port) => canConnect(port),
  });
}
