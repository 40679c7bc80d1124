// Every package imported by a package's shipped sources must be one of its declared dependencies.
// tsup leaves declared dependencies external and bundles the rest; a bundled CommonJS module
// (yaml, for one) then fails at start-up in the ESM build with `Dynamic require of "process" is
// not supported`, which the tests (run from sources) would never see.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packagesDir = join(root, 'packages');

interface PackageJSON {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !/\.tsx?$/.test(e.name) || /\.(test|bench)\.tsx?$/.test(e.name)) continue;
    out.push(join(e.parentPath, e.name));
  }
  return out;
}

/** Package names a source file loads at run time (type-only imports are erased). */
function runtimeImports(text: string): string[] {
  const names: string[] = [];
  const re =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    if (m[2]) continue;
    const spec = (m[3] ?? m[4]) as string;
    if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    const parts = spec.split('/');
    names.push(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return names;
}

const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({
    dir: join(packagesDir, d.name),
    pkg: JSON.parse(readFileSync(join(packagesDir, d.name, 'package.json'), 'utf8')) as PackageJSON,
  }))
  .filter((p) => !p.pkg.private);

describe('declared dependencies', () => {
  it.each(packages.map((p) => [p.pkg.name, p] as const))('%s imports only what it declares', (_name, p) => {
    const declared = new Set([
      p.pkg.name,
      ...Object.keys(p.pkg.dependencies ?? {}),
      ...Object.keys(p.pkg.peerDependencies ?? {}),
      ...Object.keys(p.pkg.optionalDependencies ?? {}),
    ]);
    const missing: string[] = [];
    for (const file of sourceFiles(join(p.dir, 'src'))) {
      // Test support shipped under src/testing runs inside the user's vitest.
      if (/[/\\]testing[/\\]/.test(file)) continue;
      for (const name of runtimeImports(readFileSync(file, 'utf8')))
        if (!declared.has(name)) missing.push(`${file.slice(root.length)}: ${name}`);
    }
    expect(missing).toEqual([]);
  });
});
