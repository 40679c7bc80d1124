import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

/** A reference program started by a test; `stop()` ends it by PID and waits for the exit. */
export interface ManagedProcess {
  readonly pid: number;
  readonly name: string;
  /** Where stdout and stderr go, for reading after a failure. */
  readonly logFile: string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

// Every process a test started, so that a crashing test run still ends them.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined) safeKill(child.pid, 'SIGKILL');
});

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Starts `command args` with output logged to `<logDir>/<name>.log`. */
export function startProcess(opts: {
  name: string;
  command: string;
  args: readonly string[];
  logDir: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}): ManagedProcess {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(opts.command, [...opts.args], {
    cwd: opts.cwd ?? opts.logDir,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${opts.command}`);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  running.add(child);
  let hasExited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      running.delete(child);
      resolve();
    });
  });
  const pid = child.pid;
  return {
    pid,
    name: opts.name,
    logFile,
    exited: () => hasExited,
    async stop(graceMs = 5000) {
      if (!hasExited) {
        safeKill(pid, 'SIGTERM');
        const timer = setTimeout(() => safeKill(pid, 'SIGKILL'), graceMs);
        await exitedPromise;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
