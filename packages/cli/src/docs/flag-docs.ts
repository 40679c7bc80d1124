import type { Command, Option } from 'commander';

/**
 * Operator docs show each command's flags as a table generated from the commander definitions, so
 * docs never drift from the CLI. A page marks the spot with
 * `<!-- flags: <command path> -->` … `<!-- /flags -->`, e.g. `<!-- flags: tools bucket ls -->`.
 */
const BLOCK = /<!-- flags: ([a-z0-9 -]+) -->\n[\s\S]*?<!-- \/flags -->/g;

/** Finds `path` (e.g. ['tools', 'bucket', 'ls']) under `program`. */
export function findCommand(program: Command, path: readonly string[]): Command | undefined {
  let current: Command | undefined = program;
  for (const name of path) current = current?.commands.find((c) => c.name() === name);
  return current;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function describeDefault(option: Option): string {
  const value = option.defaultValue as unknown;
  if (value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.length === 0 ? '' : `\`${value.join(', ')}\``;
  return `\`${String(value)}\``;
}

/** The markdown table of one command's flags (and its arguments, when it has any). */
export function renderFlagTable(command: Command): string {
  const rows = ['| flag | default | description |', '| --- | --- | --- |'];
  for (const option of command.options) {
    const flags = escapeCell(option.flags);
    rows.push(`| \`${flags}\` | ${describeDefault(option)} | ${escapeCell(option.description ?? '')} |`);
  }
  const args = command.registeredArguments ?? [];
  if (args.length > 0) {
    rows.push('', '| argument | description |', '| --- | --- |');
    for (const arg of args) rows.push(`| \`${arg.name()}\` | ${escapeCell(arg.description ?? '')} |`);
  }
  return rows.join('\n');
}

/** Regenerates every flags block in `markdown`; throws naming an unknown command. */
export function updateFlagBlocks(markdown: string, program: Command, file = 'markdown'): string {
  return markdown.replace(BLOCK, (_whole, path: string) => {
    const command = findCommand(program, path.trim().split(/\s+/));
    if (command === undefined) throw new Error(`${file}: no command "thanos-ts ${path}" for its flags block`);
    return `<!-- flags: ${path} -->\n${renderFlagTable(command)}\n<!-- /flags -->`;
  });
}
