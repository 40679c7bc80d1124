export type { CommandRegistration } from './commands/index.js';
export { buildProgram, runCli } from './program.js';
export { version } from './version.js';
