import { readFile } from 'node:fs/promises';
import { freePort, waitFor } from './net.js';
import { type ManagedProcess, startProcess } from './process.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

/** A reference server running on 127.0.0.1 for a test. */
export interface RunningService {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  /** Directory holding the service's data and its log file. */
  readonly dir: string;
  readonly process: ManagedProcess;
  /** Ends the process by PID; removes `dir` unless it was given by the caller. */
  stop(): Promise<void>;
}

/**
 * Shared start-up for every reference server: temp dir, free port, spawn, wait until `ready`
 * answers, and on failure stop the process and show the tail of its log.
 */
export async function startService(opts: {
  name: string;
  command: string;
  args: (port: number, dir: string) => string[];
  ready: (port: number) => Promise<boolean>;
  /** Writes config files into the service's dir before the process starts. */
  prepare?: (dir: string, port: number) => Promise<void>;
  dir?: string;
  port?: number;
  timeoutMs?: number;
}): Promise<RunningService> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await makeTempDir(`${opts.name}-`));
  const port = opts.port ?? (await freePort());
  await opts.prepare?.(dir, port);
  const proc = startProcess({ name: opts.name, command: opts.command, args: opts.args(port, dir), logDir: dir });
  try {
    await waitFor(
      `${opts.name} on 127.0.0.1:${port}`,
      async () => {
        if (proc.exited()) throw new Error(`${opts.name} exited during start-up`);
        return opts.ready(port);
      },
      opts.timeoutMs ?? 30_000,
    );
  } catch (err) {
    await proc.stop(1000);
    const log = await readFile(proc.logFile, 'utf8').catch(() => '');
    if (ownDir) await removeTempDir(dir);
    throw new Error(
      `${opts.name} did not become ready: ${(err as Error).message}\n--- log tail ---\n${log.slice(-3000)}`,
    );
  }
  return {
    host: '127.0.0.1',
    port,
    pid: proc.pid,
    dir,
    process: proc,
    async stop() {
      await proc.stop();
      if (ownDir) await removeTempDir(dir);
    },
  };
}
