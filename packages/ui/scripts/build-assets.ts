// Builds the browser pages (web/**) into dist/assets: a content-hashed page script and style sheet,
// minified, the chunks it loads later (CodeMirror, the graph), plus manifest.json naming them and
// the chunks the query page preloads (read by src/handler.ts). Runs at install (root
// "prepare"), offline: everything comes from node_modules.
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'assets');

// Old hashed files would otherwise pile up across builds.
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'web/main.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = result.metafile.outputs;
const entry = Object.entries(outputs).find(([, o]) => o.entryPoint === 'web/main.ts');
const cssOut = Object.keys(outputs).filter((p) => p.endsWith('.css'));
if (!entry || cssOut.length !== 1)
  throw new Error(`esbuild produced ${Object.keys(outputs).join(', ')}: want the page script and one .css`);
const js = basename(entry[0]);
const css = basename(cssOut[0] as string);
const chunks = Object.keys(outputs)
  .filter((p) => p.endsWith('.js') && p !== entry[0])
  .map((p) => basename(p));
// The page script's own imports are preloaded so they download alongside it. The editor's chunk
// is not: preloading it (463 KiB) delayed the page script's run by ~0.3 s in bench/ui-interactive.ts,
// and the plain input covers the wait.
const preloadQuery = new Set<string>();
const visit = (path: string) => {
  for (const i of outputs[path]?.imports ?? []) {
    if (i.kind !== 'import-statement' || preloadQuery.has(basename(i.path))) continue;
    preloadQuery.add(basename(i.path));
    visit(i.path);
  }
};
visit(entry[0]);
writeFileSync(
  join(outdir, 'manifest.json'),
  `${JSON.stringify({ js, css, chunks, preload: { query: [...preloadQuery] } }, null, 2)}\n`,
);
let raw = 0;
let gz = 0;
for (const f of [js, css, ...chunks]) {
  const body = await readFile(join(outdir, f));
  raw += body.length;
  gz += gzipSync(body, { level: 9 }).length;
}
console.log(`ui: built ${js} and ${css}: ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzipped`);
