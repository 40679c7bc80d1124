import type { Command } from 'commander';

/** Adds one `thanos-ts <component>` command (with its flags) to the program. */
export type CommandRegistration = (program: Command) => void;

/**
 * The one registration point for components: each later command lives in its own file in this
 * folder and is listed here (sidecar, query, query-frontend, store, compact, rule, receive, tools).
 */
export const commands: CommandRegistration[] = [];
