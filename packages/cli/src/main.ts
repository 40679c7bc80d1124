#!/usr/bin/env node
import { runCli } from './program.js';

runCli(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`thanos-ts: ${message}\n`);
  process.exitCode = 1;
});
