// Lists every error code thanos-ts throws, from the sources, as the table in docs/errors.md:
// `npm run docs:errors` rewrites it, `--check` only reports a stale table (a test runs the check).
// A code is a string literal of the form PKG_NAME (PKG = TSDB, PROMQL, OBJSTORE, CORE) or
// INVALID_ARGUMENT in a package's src/, outside tests; its class is the nearest `class … extends`
// above it, and its meaning the first sentence of that class's doc comment.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DOC = join(ROOT, 'docs', 'errors.md');
const CODE = /'((?:TSDB|PROMQL|OBJSTORE|CORE)_[A-Z0-9_]+|INVALID_ARGUMENT)'/g;
// APIError's codes are built from its error types (packages/core/src/http/api-error.ts).
const API_TYPES = ['bad_data', 'execution', 'timeout', 'canceled', 'internal', 'unavailable', 'not_found'];

interface Row {
  code: string;
  pkg: string;
  cls: string;
  file: string;
  meaning: string;
  score: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.includes('test-util')) out.push(p);
  }
  return out;
}

interface Site {
  cls: string;
  meaning: string;
  /** 2: inside an error class's body; 1: `new X('CODE', …)`; 0: a mere reference. */
  score: number;
}

function firstSentence(doc: string): string {
  const text = doc
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .trim();
  return (/^(.*?\.)(\s|$)/.exec(text)?.[1] ?? text).replace(/\|/g, '\\|');
}

function siteOf(text: string, index: number): Site {
  const before = text.slice(0, index);
  const call = /new (\w+)\(\s*$/.exec(before);
  if (call) {
    const msg = /^'[A-Z0-9_]+',\s*(?:[\w.]+,\s*)?([`'])((?:(?!\1).)*)\1/.exec(text.slice(index));
    return { cls: call[1] as string, meaning: msg ? `\`${msg[2]}\`` : '', score: 1 };
  }
  const decl = [...before.matchAll(/(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?export class (\w+)[^{]*\{/g)].pop();
  // Inside that class's body: no top-level closing brace between its declaration and the code.
  if (decl && !before.slice((decl.index ?? 0) + decl[0].length).includes('\n}\n'))
    return { cls: decl[2] as string, meaning: firstSentence(decl[1] ?? ''), score: 2 };
  return { cls: '', meaning: '', score: 0 };
}

export function collectRows(): Row[] {
  const rows = new Map<string, Row>();
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    let files: string[];
    try {
      files = sourceFiles(join(ROOT, 'packages', pkg, 'src'));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(CODE)) {
        const code = m[1] as string;
        const site = siteOf(text, m.index ?? 0);
        const seen = rows.get(code);
        if (seen && seen.score >= site.score) continue;
        rows.set(code, { code, pkg, file: relative(ROOT, file), ...site });
      }
    }
  }
  for (const t of API_TYPES) {
    const code = `CORE_API_${t.toUpperCase()}`;
    rows.set(code, {
      code,
      pkg: 'core',
      cls: 'APIError',
      file: 'packages/core/src/http/api-error.ts',
      meaning: `A Prometheus HTTP API error of type \`${t}\` (its status code and error JSON).`,
      score: 2,
    });
  }
  return [...rows.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

// Codes raised with a message built at run time, so no literal says what they mean.
const MEANINGS: Record<string, string> = {
  CORE_NO_STORES:
    'No StoreAPI can answer: none configured, discovered or healthy; the message names each one left out and why (gRPC Unavailable).',
  CORE_NOT_READY: "The sidecar's Prometheus is not reachable or not ready yet (gRPC Unavailable).",
  CORE_PARTIAL_RESPONSE_ABORTED:
    'A store failed and the request disabled partial responses, so the query fails naming the store (gRPC Aborted).',
  CORE_STORE_RESPONSE_TIMEOUT:
    'A store sent nothing for --store.response-timeout; with partial responses it is left out with a warning.',
};

export function renderTable(rows: readonly Row[]): string {
  const lines = ['| code | class | defined in | meaning |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const meaning = MEANINGS[r.code] ?? r.meaning;
    lines.push(`| \`${r.code}\` | ${r.cls ? `\`${r.cls}\`` : ''} | \`${r.file}\` | ${meaning} |`);
  }
  return lines.join('\n');
}

const BEGIN = '<!-- error-codes -->';
const END = '<!-- /error-codes -->';

/** The doc with its generated table replaced. */
export function updateDoc(text: string, table: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${relative(ROOT, DOC)}: missing ${BEGIN} … ${END}`);
  return `${text.slice(0, a + BEGIN.length)}\n${table}\n${text.slice(b)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(DOC, 'utf8');
  const updated = updateDoc(text, renderTable(collectRows()));
  if (process.argv.includes('--check')) {
    if (updated !== text) {
      console.error('docs/errors.md is stale: run `npm run docs:errors`');
      process.exitCode = 1;
    }
  } else writeFileSync(DOC, updated);
}
