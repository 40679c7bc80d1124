import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { renderFlagTable, updateFlagBlocks } from '../src/docs/flag-docs.js';
import { buildProgram } from '../src/program.js';

const docs = join(import.meta.dirname, '..', '..', '..', 'docs');

describe('flag tables in docs', () => {
  it('renders a command and replaces only marked blocks', () => {
    const program = new Command('thanos-ts');
    program.command('query').option('--http-address <addr>', 'listen address', '0.0.0.0:10902');
    const page = 'intro\n<!-- flags: query -->\nold\n<!-- /flags -->\noutro\n';
    const out = updateFlagBlocks(page, program);
    expect(out).toContain('| `--http-address <addr>` | `0.0.0.0:10902` | listen address |');
    expect(out.startsWith('intro\n')).toBe(true);
    expect(out.endsWith('<!-- /flags -->\noutro\n')).toBe(true);
    expect(() => updateFlagBlocks('<!-- flags: nope -->\n<!-- /flags -->', program, 'x.md')).toThrow(
      'x.md: no command "thanos-ts nope"',
    );
    expect(renderFlagTable(program.commands[0] as Command).split('\n')).toHaveLength(3);
  });

  it('are up to date with the CLI (run `npm run docs:flags`)', () => {
    const program = buildProgram();
    for (const entry of readdirSync(docs, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.md')) continue;
      const file = join(entry.parentPath, entry.name);
      const text = readFileSync(file, 'utf8');
      expect(updateFlagBlocks(text, program, file), `${file} has a stale flag table`).toBe(text);
    }
  });
});
