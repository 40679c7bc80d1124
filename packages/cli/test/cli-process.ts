// Runs `thanos-ts <args>` as a real process and waits for a line of its output (stdout or the
// log on stderr): from the TypeScript entry by default (tsx runs the same code as `npx thanos-ts`
// runs the built dist/main.js, so tests never depend on a stale build), or from the build itself
// where speed is measured (tsx keeps function names by wrapping every closure it creates, garbage
// the build does not make).
import { type ChildProcess, spawn } from 'node:child_process';

/** A running CLI process and what it printed so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  /** The log (components log to stderr). */
  readonly stderr: () => string;
  /** stdout and stderr interleaved as they arrived. */
  readonly output: () => string;
  /** Resolves with the exit code once it exits. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; no-op once exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The node arguments that run `thanos-ts`, before its own arguments, from the repository root:
 * the TypeScript entry under tsx, or with `built` the built CLI (`packages/cli/bin/thanos-ts.js`,
 * which needs `npm run build`).
 */
export function cliEntry(opts: { built?: boolean } = {}): string[] {
  return opts.built ? ['packages/cli/bin/thanos-ts.js'] : ['--import', 'tsx', 'packages/cli/src/main.ts'];
}

/**
 * Starts `thanos-ts <args>` from the repository root and resolves once its output (stdout and
 * stderr, where the log goes) matches `ready`, with the match; rejects (and kills the process)
 * after `timeoutMs` with what it printed. `built`: run the built CLI (see cliEntry).
 */
export async function startCli(
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 110_000,
  opts: { built?: boolean } = {},
): Promise<{ proc: CliProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [...cliEntry(opts), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let both = '';
  child.stdout?.on('data', (d) => {
    out += d;
    both += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
    both += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
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
      const m = ready.exec(both);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve(m);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${ready}; stdout=${out} stderr=${err}`));
    });
  });
  return { proc, match };
}
