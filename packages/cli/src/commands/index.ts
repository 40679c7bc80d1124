import type { Command } from 'commander';
import { registerCompact } from './compact.js';
import { registerQuery } from './query.js';
import { registerQueryFrontend } from './query-frontend.js';
import { registerQuickstart } from './quickstart.js';
import { registerReceive } from './receive.js';
import { registerRule } from './rule.js';
import { registerSidecar } from './sidecar.js';
import { registerStore } from './store.js';
import { registerTools, type ToolsRegistration } from './tools.js';
import { registerBucketTools } from './tools-bucket.js';
import { registerTsdbTools } from './tools-tsdb.js';

/** Adds one `thanos-ts <component>` command (with its flags) to the program. */
export type CommandRegistration = (program: Command) => void;

/** Groups under `thanos-ts tools`, one file each. */
const toolGroups: ToolsRegistration[] = [registerBucketTools, registerTsdbTools];

/**
 * The one registration point for components: each command lives in its own file in this folder
 * and is listed here (sidecar, query, query-frontend, store, compact, rule, receive, tools).
 */
export const commands: CommandRegistration[] = [
  registerQuickstart,
  registerQuery,
  registerSidecar,
  registerStore,
  registerQueryFrontend,
  registerCompact,
  registerRule,
  registerReceive,
  registerTools(toolGroups),
];
