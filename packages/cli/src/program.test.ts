import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';
import { version } from './version.js';

const run = promisify(execFile);

describe('thanos-ts program', () => {
  it('has --version and --help', () => {
    const program = buildProgram().exitOverride();
    let out = '';
    program.configureOutput({ writeOut: (s) => (out += s) });
    expect(() => program.parse(['node', 'thanos-ts', '--version'])).toThrow(version);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    out = '';
    expect(() => program.parse(['node', 'thanos-ts', '--help'])).toThrow();
    expect(out).toContain('Usage: thanos-ts');
    expect(out).toContain('tools');
  });

  it('rejects an unknown command with a message naming it', () => {
    const program = buildProgram().exitOverride();
    let err = '';
    program.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
    expect(() => program.parse(['node', 'thanos-ts', 'no-such-component'])).toThrow();
    expect(err).toContain("unknown command 'no-such-component'");
  });

  it('runs as a real process through the built-in source entry', async () => {
    // tsx runs the TypeScript entry the same way the built bin runs dist/main.js.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', '--version']);
    expect(stdout.trim()).toBe(version);
  });

  it('ends quietly when its output pipe closes (| head -1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-epipe-'));
    const lines = Array.from({ length: 20_000 }, (_, i) => `m{i="${i}"} ${i} ${1_700_000_000 + i}`).join('\n');
    writeFileSync(join(dir, 'in.om'), `# TYPE m gauge\n${lines}\n# EOF\n`);
    const main = 'packages/cli/src/main.ts';
    await run(process.execPath, [
      '--import',
      'tsx',
      main,
      'tools',
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      join(dir, 'in.om'),
      join(dir, 'out'),
    ]);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'tools', 'tsdb', 'dump', `--block=${join(dir, 'out')}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Like `head -1`: read the first chunk, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  // The machine's own Node (Debian's 20) is what a newcomer may run `npx thanos-ts` with.
  const oldNode = ['/usr/local/bin/node', '/usr/bin/node'].find((p) => {
    try {
      return Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]']).toString().trim()) < 22;
    } catch {
      return false;
    }
  });
  it.skipIf(oldNode === undefined)('on a Node older than 22.19 says in one line which Node is needed', async () => {
    const bin = fileURLToPath(new URL('../bin/thanos-ts.js', import.meta.url));
    const err = (await run(oldNode as string, [bin, 'quickstart']).catch((e) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(
      /^thanos-ts: Node\.js v\d+\.\d+\.\d+ is too old; thanos-ts needs Node\.js 22\.19 or newer/,
    );
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
  });
});
