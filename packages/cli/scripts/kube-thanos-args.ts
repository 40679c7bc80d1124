/**
 * Extracts the thanos container command lines of kube-thanos's example manifests into
 * packages/cli/test/fixtures/kube-thanos/containers.json, for the kube-thanos compatibility test
 * (packages/cli/test/kube-thanos.test.ts). Refresh with:
 *
 *   node --import tsx packages/cli/scripts/kube-thanos-args.ts <kube-thanos checkout or bare git dir> [rev]
 *
 * Reads `examples/all/manifests/*.yaml` and `manifests/*.yaml` (every Deployment and StatefulSet
 * container running a thanos image: its `command` and `args` exactly as written), and the jsonnet
 * sources in `jsonnet/kube-thanos/` for flags that only appear with an option turned on (store
 * limits, tenant flags, query telemetry…): those are listed by command with their source line, not
 * evaluated (no jsonnet interpreter here); the test gives each a sample value.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One container of a kube-thanos workload. */
export interface KubeThanosContainer {
  /** Manifest file, relative to the kube-thanos repository root. */
  file: string;
  kind: 'Deployment' | 'StatefulSet';
  /** Workload name (metadata.name). */
  workload: string;
  container: string;
  image: string;
  /** The container's `command`, when it sets one (kube-thanos relies on the image's entrypoint). */
  command?: string[];
  /** The container's `args` exactly as the manifest gives them. */
  args: string[];
  /** Names of the environment variables the pod defines (what `$(NAME)` in args may refer to). */
  env: string[];
}

/** A flag kube-thanos's jsonnet passes only when an option is set. */
export interface KubeThanosOptionFlag {
  /** thanos command path, e.g. `store` or `tools bucket web`. */
  command: string;
  flag: string;
  /** `jsonnet/kube-thanos/<file>:<line>` where the flag is written. */
  source: string;
}

/** What containers.json holds. */
export interface KubeThanosFixture {
  source: { repository: string; commit: string; date: string };
  containers: KubeThanosContainer[];
  optionFlags: KubeThanosOptionFlag[];
}

/** The thanos command a libsonnet file builds, by file name. */
const JSONNET_COMMANDS: [RegExp, string][] = [
  [/kube-thanos-bucket-replicate\.libsonnet$/, 'tools bucket replicate'],
  [/kube-thanos-bucket\.libsonnet$/, 'tools bucket web'],
  [/kube-thanos-compact(-shards)?\.libsonnet$/, 'compact'],
  [/kube-thanos-query-frontend\.libsonnet$/, 'query-frontend'],
  [/kube-thanos-query\.libsonnet$/, 'query'],
  [/kube-thanos-receive(-router|-ingestor)?\.libsonnet$/, 'receive'],
  [/kube-thanos-rule\.libsonnet$/, 'rule'],
  [/kube-thanos-store(-shards)?\.libsonnet$/, 'store'],
];

/** The subcommand words at the head of a thanos command line (`tools bucket web`). */
export function commandPath(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  return words.join(' ');
}

/** Reads files of a checkout or, for a bare repository, of revision `rev`. */
function repoReader(dir: string, rev: string) {
  const bare = !existsSync(join(dir, 'examples'));
  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', bare ? dir : join(dir, '.git'), ...args], { maxBuffer: 64 << 20 }).toString();
  return {
    list(folder: string): string[] {
      if (!bare)
        return existsSync(join(dir, folder)) ? readdirSync(join(dir, folder)).map((f) => `${folder}/${f}`) : [];
      return git('ls-tree', '--name-only', `${rev}:${folder}`)
        .split('\n')
        .filter(Boolean)
        .map((f) => `${folder}/${f}`);
    },
    read(path: string): string {
      return bare ? git('show', `${rev}:${path}`) : readFileSync(join(dir, path), 'utf8');
    },
    commit(): { commit: string; date: string } {
      const [commit, date] = git('log', '-1', '--format=%H %cI', rev).trim().split(' ');
      return { commit: commit as string, date: date as string };
    },
  };
}

/** Extracts the fixture from a kube-thanos repository. */
export function extractKubeThanos(dir: string, rev = 'HEAD'): KubeThanosFixture {
  const repo = repoReader(dir, rev);
  const containers: KubeThanosContainer[] = [];
  for (const folder of ['examples/all/manifests', 'manifests']) {
    for (const file of repo
      .list(folder)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      for (const doc of parseAllDocuments(repo.read(file))) {
        // biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read structurally.
        const o = doc.toJS() as any;
        if (o?.kind !== 'Deployment' && o?.kind !== 'StatefulSet') continue;
        for (const c of o.spec.template.spec.containers ?? []) {
          if (!/thanos/.test(c.image ?? '') || !Array.isArray(c.args)) continue;
          containers.push({
            file,
            kind: o.kind,
            workload: o.metadata.name,
            container: c.name,
            image: c.image,
            ...(c.command ? { command: c.command } : {}),
            args: c.args.map(String),
            env: (c.env ?? []).map((e: { name: string }) => e.name),
          });
        }
      }
    }
  }
  const seen = new Map<string, Set<string>>();
  for (const c of containers) {
    const path = commandPath(c.args);
    const flags = seen.get(path) ?? new Set<string>();
    for (const a of c.args) if (a.startsWith('--')) flags.add(a.split('=')[0] as string);
    seen.set(path, flags);
  }
  const optionFlags: KubeThanosOptionFlag[] = [];
  const listed = new Set<string>();
  for (const file of repo.list('jsonnet/kube-thanos').sort()) {
    const command = JSONNET_COMMANDS.find(([re]) => re.test(file))?.[1];
    if (!command) continue;
    const lines = repo.read(file).split('\n');
    lines.forEach((line, i) => {
      // A flag starts a jsonnet string ('--x=' + v, '--x') or a line of a ||| text block.
      for (const m of line.matchAll(/(?:^\s*|')(--[a-z][a-z0-9.-]*[a-z0-9])(?==|'|\s*$)/g)) {
        const flag = m[1] as string;
        if (listed.has(`${command} ${flag}`) || seen.get(command)?.has(flag)) continue;
        listed.add(`${command} ${flag}`);
        optionFlags.push({ command, flag, source: `${file}:${i + 1}` });
      }
    });
  }
  return {
    source: { repository: 'https://github.com/thanos-io/kube-thanos', ...repo.commit() },
    containers,
    optionFlags,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, rev] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: kube-thanos-args.ts <kube-thanos checkout or bare git dir> [rev]\n');
    process.exit(2);
  }
  const out = new URL('../test/fixtures/kube-thanos/containers.json', import.meta.url);
  const fixture = extractKubeThanos(dir, rev ?? 'HEAD');
  writeFileSync(out, `${JSON.stringify(fixture, null, 2)}\n`);
  process.stdout.write(
    `${fixture.containers.length} containers, ${fixture.optionFlags.length} option-only flags from ${fixture.source.commit}\n`,
  );
}
