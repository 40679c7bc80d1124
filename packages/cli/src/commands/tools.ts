import { Command } from 'commander';

/** Adds one group under `thanos-ts tools` (e.g. `tsdb`, `bucket`). */
export type ToolsRegistration = (tools: Command) => void;

/**
 * `thanos-ts tools …`: utilities that are not long-running components. Each group lives in its
 * own file (`tools-tsdb.ts`, `tools-bucket.ts`) and is listed in `toolGroups` below.
 */
export function registerTools(toolGroups: readonly ToolsRegistration[]) {
  return (program: Command): void => {
    const tools = new Command('tools').description('Utilities for blocks, buckets and data.');
    for (const register of toolGroups) register(tools);
    program.addCommand(tools);
  };
}
