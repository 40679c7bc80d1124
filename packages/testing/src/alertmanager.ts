import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpOk } from './net.js';
import { requireProgram } from './programs.js';
import { type RunningService, startService } from './service.js';

/** A running Alertmanager with its v2 API at `url`. */
export interface RunningAlertmanager extends RunningService {
  readonly url: string;
}

/** Starts Alertmanager on 127.0.0.1 with clustering off and a catch-all receiver. */
export async function startAlertmanager(opts: { config?: string } = {}): Promise<RunningAlertmanager> {
  const binary = requireProgram('alertmanager');
  const config = opts.config ?? 'route:\n  receiver: default\nreceivers:\n  - name: default\n';
  const service = await startService({
    name: 'alertmanager',
    command: binary,
    prepare: (dir) => writeFile(join(dir, 'alertmanager.yml'), config),
    args: (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    ready: (port) => httpOk(`http://127.0.0.1:${port}/api/v2/status`),
  });
  return { ...service, url: `http://127.0.0.1:${service.port}` };
}
