#!/usr/bin/env node
import { runCli } from './program.js';

// Output into a closed pipe (`thanos-ts tools bucket inspect … | head -1`) ends the command
// quietly, as Go programs do on SIGPIPE, instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

runCli(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`thanos-ts: ${message}\n`);
  process.exitCode = 1;
});
