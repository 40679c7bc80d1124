import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { parse as parseYAML } from 'yaml';

/** Options of `createFileSD`. */
export interface FileSDOptions {
  /** Files or globs (`*` in the file name only, as Prometheus allows). */
  files: readonly string[];
  /** Re-read everything this often even without file events, ms. Default 5 min (Thanos's --store.sd-interval). */
  refreshInterval?: number;
  /** Called with the new target list whenever it changes. */
  onChange?: (targets: readonly string[]) => void;
  /** Called when a file cannot be read or parsed (its previous targets are kept). */
  onError?: (file: string, err: unknown) => void;
}

/** File service discovery: Prometheus file SD files, re-read on change. */
export interface FileSD {
  /** Reads the files once and starts watching. */
  start(): void;
  /** Re-reads the files now. */
  refresh(): void;
  /** Current targets, in file order, each once. */
  targets(): string[];
  close(): void;
}

/**
 * Parses one Prometheus file SD document (YAML or JSON: a list of `{targets: [...], labels: {...}}`)
 * into its targets. Labels are accepted and ignored: endpoints have no per-target labels.
 */
export function parseFileSD(text: string, file: string): string[] {
  let doc: unknown;
  try {
    doc = extname(file) === '.json' ? JSON.parse(text) : parseYAML(text);
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`);
  }
  if (doc == null) return [];
  if (!Array.isArray(doc)) throw new InvalidArgumentError(`${file}: want a list of target groups`);
  const out: string[] = [];
  for (const [i, group] of doc.entries()) {
    const targets = (group as { targets?: unknown })?.targets;
    if (targets == null) continue;
    if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) {
      throw new InvalidArgumentError(`${file}: group ${i}: targets must be a list of strings`);
    }
    out.push(...(targets as string[]));
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

function expand(pattern: string): string[] {
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return [pattern];
  const dir = dirname(pattern);
  const re = globToRegExp(name);
  try {
    return readdirSync(dir)
      .filter((f) => re.test(f))
      .sort()
      .map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
}

/** Watches Prometheus file SD files and keeps the union of their targets. */
export function createFileSD(opts: FileSDOptions): FileSD {
  const perFile = new Map<string, string[]>();
  let current: string[] = [];
  const watchers: FSWatcher[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  function refresh(): void {
    const files = new Set(opts.files.flatMap(expand));
    for (const f of [...perFile.keys()]) if (!files.has(f)) perFile.delete(f);
    for (const f of files) {
      try {
        statSync(f);
      } catch {
        perFile.delete(f);
        continue;
      }
      try {
        perFile.set(f, parseFileSD(readFileSync(f, 'utf8'), f));
      } catch (err) {
        // A half-written file keeps its previous targets until it parses again.
        opts.onError?.(f, err);
      }
    }
    const next = [...new Set([...files].flatMap((f) => perFile.get(f) ?? []))];
    if (next.length !== current.length || next.some((t, i) => t !== current[i])) {
      current = next;
      opts.onChange?.(current);
    }
  }

  return {
    start() {
      refresh();
      // Watch directories, not files: editors and config management replace files by rename.
      for (const dir of new Set(opts.files.map((f) => dirname(f)))) {
        try {
          const w = watch(dir, () => {
            clearTimeout(debounce);
            debounce = setTimeout(refresh, 50);
          });
          w.on('error', () => undefined);
          watchers.push(w);
        } catch (err) {
          opts.onError?.(dir, err);
        }
      }
      timer = setInterval(refresh, opts.refreshInterval ?? 300_000);
      timer.unref?.();
    },
    refresh,
    targets: () => [...current],
    close() {
      clearInterval(timer);
      clearTimeout(debounce);
      for (const w of watchers) w.close();
      watchers.length = 0;
    },
  };
}
