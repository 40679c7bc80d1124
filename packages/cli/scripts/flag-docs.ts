// Regenerates the flag tables in docs/**/*.md from the CLI definitions: `npm run docs:flags`.
// With --check it only reports stale pages (the cli tests run the same check).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { updateFlagBlocks } from '../src/docs/flag-docs.js';
import { buildProgram } from '../src/program.js';

const root = join(import.meta.dirname, '..', '..', '..');
const docs = join(root, 'docs');
const check = process.argv.includes('--check');
const program = buildProgram();
let stale = 0;
for (const entry of readdirSync(docs, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.md')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const updated = updateFlagBlocks(text, program, relative(root, file));
  if (updated === text) continue;
  stale++;
  if (check) console.error(`stale flag table: ${relative(root, file)}`);
  else writeFileSync(file, updated);
}
if (check && stale > 0) process.exitCode = 1;
console.log(check ? `${stale} stale page(s)` : `updated ${stale} page(s)`);
