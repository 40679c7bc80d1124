import { execFile } from 'node:child_process';
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
});
