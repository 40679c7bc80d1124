// Every ```ts snippet block in the READMEs and docs runs here, so the examples newcomers copy
// keep working. A snippet is a self-contained ES module that throws when its result is wrong.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'examples', '.snippets');

function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md')];
  for (const pkg of readdirSync(join(ROOT, 'packages'))) files.push(join(ROOT, 'packages', pkg, 'README.md'));
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) files.push(join(dir, e.name));
    }
  };
  walk(join(ROOT, 'docs'));
  return files;
}

function snippets(): { name: string; code: string }[] {
  const out: { name: string; code: string }[] = [];
  for (const file of markdownFiles()) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const re = /```ts snippet\n([\s\S]*?)```/g;
    let i = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text))
      out.push({ name: `${relative(ROOT, file)}#${++i}`, code: m[1] as string });
  }
  return out;
}

describe('README and docs snippets run', () => {
  const all = snippets();
  mkdirSync(OUT, { recursive: true });
  afterAll(() => rmSync(OUT, { recursive: true, force: true }));

  it('finds the package READMEs’ snippets', () => {
    for (const pkg of ['tsdb', 'promql', 'objstore', 'core'])
      expect(all.some((s) => s.name.startsWith(`packages/${pkg}/README.md`))).toBe(true);
  });

  it.each(all)(
    '$name',
    async ({ name, code }) => {
      const file = join(OUT, `${name.replace(/[^a-zA-Z0-9]+/g, '-')}.ts`);
      writeFileSync(file, `${code}\nexport {};\n`);
      await import(file);
    },
    60_000,
  );
});
