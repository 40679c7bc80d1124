import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpOk } from './net.js';
import { requireProgram } from './programs.js';
import { type RunningService, startService } from './service.js';

/**
 * Prometheus reserves each chunk segment file of a block it writes (head compaction, compaction of
 * blocks in its data dir) at the segment's maximum size, 512 MiB by default (fallocate), until the
 * block is done. Test blocks hold a few MiB of chunks, so at 64 MiB no block's bytes change (a
 * segment is only cut at this size when the chunks exceed it) and parallel test files reserve an
 * eighth of the disk.
 */
export const PROMETHEUS_TEST_SEGMENT_SIZE_FLAG = '--storage.tsdb.max-block-chunk-segment-size=64MB';

/** A running Prometheus 2.42 server. */
export interface RunningPrometheus extends RunningService {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** The TSDB directory (--storage.tsdb.path). */
  readonly dataDir: string;
}

/** Options for startPrometheus. */
export interface PrometheusOptions {
  /** TSDB directory; `<service dir>/data` when omitted. Existing blocks in it are served. */
  dataDir?: string;
  /** prometheus.yml text; default: no scrape jobs, 15s intervals. Put external_labels here. */
  config?: string;
  /** Extra command-line flags. */
  extraArgs?: string[];
  /** Fixed port (e.g. to restart on the same address); a free one when omitted. */
  port?: number;
}

/**
 * Starts Prometheus on 127.0.0.1 with the remote-write receiver, admin API and lifecycle API on,
 * and a retention long enough that generated historical blocks are never deleted.
 */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = requireProgram('prometheus');
  const config = opts.config ?? 'global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n';
  let dataDir = opts.dataDir ?? '';
  const service = await startService({
    name: 'prometheus',
    command: binary,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    prepare: async (dir) => {
      if (dataDir === '') dataDir = join(dir, 'data');
      await writeFile(join(dir, 'prometheus.yml'), config);
    },
    args: (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=100y',
      '--log.level=warn',
      PROMETHEUS_TEST_SEGMENT_SIZE_FLAG,
      ...(opts.extraArgs ?? []),
    ],
    ready: (port) => httpOk(`http://127.0.0.1:${port}/-/ready`),
    timeoutMs: 60_000,
  });
  return { ...service, url: `http://127.0.0.1:${service.port}`, dataDir };
}
