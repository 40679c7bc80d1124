// Runs `thanos-ts <args>` as a real process from the TypeScript entry (tsx runs it exactly as
// `npx thanos-ts` runs the built dist/main.js) and waits for a line on stdout.
import { type ChildProcess, spawn } from 'node:child_process';

/** A running CLI process and what it printed so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code once it exits. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; no-op once exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `thanos-ts <args>` from the repository root and resolves once stdout matches `ready`,
 * with the match; rejects (and kills the process) after `timeoutMs` with what it printed.
 */
export async function startCli(
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 110_000,
): Promise<{ proc: CliProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line matching ${ready} within ${timeoutMs} ms; stdout=${out} stderr=${err}`));
    }, timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(m);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${ready}; stdout=${out} stderr=${err}`));
    });
  });
  return { proc, match };
}
