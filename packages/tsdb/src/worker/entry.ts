import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How to start a worker thread: its file, and the loader flags it needs. */
export interface WorkerEntry {
  filename: string;
  execArgv?: string[];
}

/**
 * Where a worker thread's entry is, relative to the module at `moduleUrl` (its import.meta.url):
 * the first of `builtFiles` that exists (the built package: tsup emits each worker as its own
 * entry next to, or one folder above, the bundle that starts it), else `sourceFile` run with
 * tsx's loader (vitest, tsx scripts: Node cannot resolve the source's `.js` import specifiers to
 * `.ts` files). Undefined when neither is there, or the source is there but tsx is not.
 */
export function resolveWorkerEntry(
  moduleUrl: string,
  builtFiles: readonly string[],
  sourceFile: string,
): WorkerEntry | undefined {
  for (const rel of builtFiles) {
    const js = new URL(rel, moduleUrl);
    if (js.protocol === 'file:' && existsSync(js)) return { filename: fileURLToPath(js) };
  }
  const ts = new URL(sourceFile, moduleUrl);
  if (ts.protocol !== 'file:' || !existsSync(ts)) return undefined;
  try {
    const tsx = pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href;
    return { filename: fileURLToPath(ts), execArgv: ['--import', tsx] };
  } catch {
    return undefined;
  }
}
