import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

/**
 * The build every package shares: ESM for Node 22+, declarations, one entry per subpath in the
 * package's "exports" (".": src/index.ts, "./wal": src/wal/index.ts, …), so adding a subpath to
 * package.json is all it takes to build it. `extra` adds entries that are not subpaths (a worker
 * file, the CLI's main) and other options.
 */
export function packageConfig(extra: { entry?: Record<string, string> } & Omit<Options, 'entry'> = {}): Options {
  const { exports } = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
  const subpaths = Object.fromEntries(
    Object.keys(exports).map((k) =>
      k === '.' ? ['index', 'src/index.ts'] : [`${k.slice(2)}/index`, `src/${k.slice(2)}/index.ts`],
    ),
  );
  const { entry, ...rest } = extra;
  return defineConfig({
    entry: { ...subpaths, ...entry },
    format: ['esm'],
    target: 'node22',
    // Declarations for the public entries only.
    dts: { entry: subpaths },
    sourcemap: true,
    clean: true,
    ...rest,
  }) as Options;
}
