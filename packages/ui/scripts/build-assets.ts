// Builds the browser pages (web/**) into dist/assets: one content-hashed script and style sheet,
// minified, plus manifest.json naming them (read by src/handler.ts). Runs at install (root
// "prepare"), offline: everything comes from node_modules.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'assets');

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'web/main.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild produced ${outputs.join(', ')}: want one .js and one .css`);
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify({ js, css }, null, 2)}\n`);
let raw = 0;
let gz = 0;
for (const f of [js, css]) {
  const body = await readFile(join(outdir, f));
  raw += body.length;
  gz += gzipSync(body, { level: 9 }).length;
}
console.log(`ui: built ${js} and ${css}: ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzipped`);
