import { Command } from 'commander';
import { commands } from './commands/index.js';
import { version } from './version.js';

/**
 * Builds the `thanos-ts` command tree. Each component registers itself through
 * `commands/index.ts`, so adding a component never touches this file.
 */
export function buildProgram(): Command {
  const program = new Command('thanos-ts')
    .description(
      'Thanos in TypeScript: a global PromQL view over many Prometheus servers, HA deduplication and long-term storage in object storage.',
    )
    .version(version, '-v, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program);
  return program;
}

/** Parses `argv` (as `process.argv`) and runs the selected command. */
export async function runCli(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
