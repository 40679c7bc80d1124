import type { Logger } from '@thanos-ts/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createQuickstart } from '../quickstart/quickstart.js';
import { runUntilSignal } from '../run.js';

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 60)
    throw new InvalidArgumentError('--days must be a whole number from 1 to 60');
  return n;
}

/**
 * `thanos-ts quickstart`: the read path in one process on a local bucket, with demo data when the
 * bucket is empty. Stops cleanly on Ctrl-C and starts again on the same data.
 */
export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description(
      'Run the whole system in one process over a local FILESYSTEM bucket (filled with demo blocks when empty): store gateway, receiver, ruler, compactor, a deduplicating querier with its web pages, a query frontend and the bucket web.',
    )
    .addOption(new Option('--data-dir <dir>', 'directory for the bucket and the store cache').default('./data'))
    .addOption(
      new Option('--http-address <host:port>', 'listen address of the Prometheus HTTP API').default('127.0.0.1:10902'),
    )
    .addOption(
      new Option(
        '--remote-write.address <host:port>',
        "listen address of the receiver's remote-write endpoint (/api/v1/receive)",
      ).default('127.0.0.1:19291'),
    )
    .addOption(
      new Option(
        '--query-frontend.http-address <host:port>',
        'listen address of the query frontend in front of the querier (default 127.0.0.1:10913; a free port when --http-address has port 0)',
      ),
    )
    .addOption(
      new Option(
        '--bucket-web.http-address <host:port>',
        'listen address of the bucket web blocks page (default 127.0.0.1:10914; a free port when --http-address has port 0)',
      ),
    )
    .addOption(
      new Option('--days <n>', 'days of demo data written into an empty bucket').default(3).argParser(parseDays),
    )
    .action(
      async (opts: {
        dataDir: string;
        httpAddress: string;
        'remoteWrite.address': string;
        'queryFrontend.httpAddress'?: string;
        'bucketWeb.httpAddress'?: string;
        days: number;
      }) => {
        const write = (line: string) => process.stdout.write(`${line}\n`);
        const qs = createQuickstart({
          dataDir: opts.dataDir,
          httpAddress: opts.httpAddress,
          remoteWriteAddress: opts['remoteWrite.address'],
          ...(opts['queryFrontend.httpAddress'] ? { frontendAddress: opts['queryFrontend.httpAddress'] } : {}),
          ...(opts['bucketWeb.httpAddress'] ? { bucketWebAddress: opts['bucketWeb.httpAddress'] } : {}),
          days: opts.days,
          log: write,
        });
        const logger: Logger = {
          debug() {},
          // The quick start prints its own progress; of the runner's lines only the shutdown shows.
          info: (msg) => {
            if (msg === 'caught signal. Exiting.') write('stopping…');
          },
          warn: write,
          error: write,
        };
        await runUntilSignal(
          {
            start: async (signal) => {
              await qs.start(signal);
              write(`ready: ${qs.url} (Ctrl-C to stop)`);
            },
            close: () => qs.close(),
            [Symbol.asyncDispose]: () => qs.close(),
          },
          { logger },
        );
      },
    );
}
