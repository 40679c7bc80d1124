import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBucketConfig } from '@thanos-ts/objstore';
import { type Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeThanosFixture } from '../scripts/kube-thanos-args.js';
import { commandPath } from '../scripts/kube-thanos-args.js';
import { parseCompactFlags } from '../src/commands/compact.js';
import { parseQueryFlags } from '../src/commands/query.js';
import { parseQueryFrontendFlags } from '../src/commands/query-frontend.js';
import { parseReceiveFlags } from '../src/commands/receive.js';
import { parseRuleFlags } from '../src/commands/rule.js';
import { parseSidecarFlags } from '../src/commands/sidecar.js';
import { parseStoreFlags } from '../src/commands/store.js';
import { replicateOptionsFromFlags } from '../src/commands/tools-bucket-replicate.js';
import { parseBucketWebFlags } from '../src/commands/tools-bucket-web.js';
import { loggerFromFlags } from '../src/flags/log.js';
import { buildProgram } from '../src/program.js';

/**
 * Flags kube-thanos passes that thanos-ts does not have yet, as `<command> <flag>`. The test checks
 * this list is exactly what is missing: a flag added to a command fails the test until it is removed
 * here, and a flag kube-thanos uses that is neither accepted nor listed fails it too.
 * `<command> (command)` means the command itself is not registered in the program yet.
 */
const knownMissing: readonly string[] = ['query-frontend --alert.query-url'];

/**
 * Command lines Thanos itself refuses to start with, and the error it gives (cmd/thanos/rule.go):
 * kube-thanos's examples/all are "not meant to ever be run", and its rule example sets both
 * --alertmanagers.url and --alertmanagers.config-file. thanos-ts must refuse them the same way.
 */
const THANOS_REJECTS: Record<string, string> = {
  'examples/all/manifests/thanos-rule-statefulSet.yaml thanos-rule/thanos-rule':
    '--alertmanagers.url and --alertmanagers.config* parameters cannot be defined at the same time',
};

const fixtureDir = fileURLToPath(new URL('./fixtures/kube-thanos/', import.meta.url));
const fixture = JSON.parse(readFileSync(join(fixtureDir, 'containers.json'), 'utf8')) as KubeThanosFixture;

/** Values for the `$(VAR)` references Kubernetes substitutes from the pod's env. */
const ENV_SAMPLES: Record<string, string> = {
  OBJSTORE_CONFIG: 'type: FILESYSTEM\nconfig:\n  directory: /var/thanos/bucket\n',
  OBJSTORE_TO_CONFIG: 'type: FILESYSTEM\nconfig:\n  directory: /var/thanos/bucket-to\n',
  NAME: 'thanos-receive-0',
  NAMESPACE: 'thanos',
  POD_NAME: 'thanos-pod-0',
  HOST_IP_ADDRESS: '10.0.0.1',
};

/**
 * Sample values of the flags kube-thanos's jsonnet only passes with an option set (the fixture's
 * `optionFlags`), taken from the option's documented example or a typical value.
 */
const OPTION_SAMPLES: Record<string, string> = {
  'tools bucket replicate --min-time': '-2w',
  'tools bucket replicate --max-time': '2024-01-01T00:00:00Z',
  'query-frontend --alert.query-url': 'http://thanos-query-frontend.thanos.svc:9090',
  'query --rule': 'dnssrv+_grpc._tcp.thanos-rule.thanos.svc.cluster.local',
  'query --web.external-prefix': '/thanos',
  'query --web.prefix-header': 'X-Forwarded-Prefix',
  'query --query.promql-engine': 'thanos',
  'query --query.telemetry.request-duration-seconds-quantiles': '0.1',
  'query --query.telemetry.request-samples-quantiles': '100',
  'query --query.telemetry.request-series-seconds-quantiles': '10',
  'query --alert.query-url': 'http://thanos-query.thanos.svc:9090',
  'receive --receive.tenant-label-name': 'tenant_id',
  'receive --receive.tenant-header': 'THANOS-TENANT',
  'receive --store.limits.request-samples': '0',
  'receive --store.limits.request-series': '0',
  'receive --receive.limits-config-file': '/etc/thanos/config/limits/limits.yaml',
  'store --min-time': '-2w',
  'store --max-time': '-2h',
  'store --store.grpc.touched-series-limit': '0',
  'store --store.grpc.series-sample-limit': '0',
  'store --store.grpc.downloaded-bytes-limit': '0',
};

/** How each command turns its flags into options, without starting anything. */
// biome-ignore lint/suspicious/noExplicitAny: each parser takes its own flag record.
const PARSERS: Record<string, (o: any) => unknown> = {
  query: parseQueryFlags,
  'query-frontend': parseQueryFrontendFlags,
  store: parseStoreFlags,
  sidecar: parseSidecarFlags,
  compact: parseCompactFlags,
  rule: parseRuleFlags,
  receive: parseReceiveFlags,
  'tools bucket replicate': replicateOptionsFromFlags,
  'tools bucket web': parseBucketWebFlags,
};

/** Flags whose value names a file the parser reads; the manifests' paths only exist in the pod. */
const FILE_FLAGS = new Set([
  '--receive.hashrings-file',
  '--receive.limits-config-file',
  '--alertmanagers.config-file',
  '--remote-write.config-file',
  '--rule-file',
  '--objstore.config-file',
  '--objstore-to.config-file',
  '--tracing.config-file',
  '--query-range.response-cache-config-file',
  '--labels.response-cache-config-file',
  '--index-cache.config-file',
  '--store.caching-bucket.config-file',
  '--selector.relabel-config-file',
]);

/** One thanos command line to check, from kube-thanos or from examples/kubernetes. */
interface Case {
  name: string;
  args: string[];
  env: string[];
}

/** Substitutes `$(VAR)` for the variables the pod defines, as the kubelet does; others stay literal. */
export function substituteEnv(arg: string, env: readonly string[]): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
    if (!env.includes(name)) return whole;
    const v = ENV_SAMPLES[name];
    if (v === undefined) throw new Error(`no sample value for $(${name}); add it to ENV_SAMPLES`);
    return v;
  });
}

/** The program with every leaf command's action replaced by one that records the parsed flags. */
function instrumentedProgram(): { program: Command; missingCommands: Set<string>; last: { opts?: unknown } } {
  const program = buildProgram();
  const missingCommands = new Set<string>();
  const _bucket = program.commands
    .find((c) => c.name() === 'tools')
    ?.commands.find((c) => c.name() === 'bucket') as Command;
  const last: { opts?: unknown } = {};
  const walk = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (cmd.commands.length === 0)
      cmd.action(function (this: Command) {
        last.opts = this.opts();
      });
    for (const c of cmd.commands) walk(c);
  };
  walk(program);
  return { program, missingCommands, last };
}

function findCommand(program: Command, path: string): Command | undefined {
  let cmd: Command | undefined = program;
  for (const word of path.split(' ')) cmd = cmd?.commands.find((c) => c.name() === word);
  return cmd;
}

/** What checking one command line found. */
interface Checked {
  command: string;
  /** `<command> <flag>` for every flag the command does not define. */
  missing: string[];
  /** The parsed flags, from the command's own parse function (so values are validated). */
  parsed: unknown;
}

/**
 * Parses one container's command line with the thanos-ts program: flags the command does not define
 * are reported (and left out), the rest go through commander and then the command's parse function,
 * so a flag that exists but rejects kube-thanos's value fails here.
 */
async function check(c: Case): Promise<Checked> {
  const { program, missingCommands, last } = instrumentedProgram();
  const args = c.args.map((a) => substituteEnv(a, c.env));
  const command = commandPath(args);
  const cmd = findCommand(program, command);
  if (!cmd) throw new Error(`${c.name}: thanos-ts has no command ${JSON.stringify(command)}`);
  const known = new Set(cmd.options.map((o) => o.long));
  const missing = new Set<string>();
  if (missingCommands.has(command)) missing.add(`${command} (command)`);
  const kept: string[] = [];
  for (const a of args.slice(command.split(' ').length)) {
    if (!a.startsWith('--')) throw new Error(`${c.name}: positional argument ${JSON.stringify(a)} after the flags`);
    const flag = a.split('=')[0] as string;
    if (known.has(flag)) kept.push(FILE_FLAGS.has(flag) ? `${flag}=${fixtureFileFor(flag)}` : a);
    else missing.add(`${command} ${flag}`);
  }
  try {
    await program.parseAsync([...command.split(' '), ...kept], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new Error(`${c.name}: thanos-ts ${command}: ${err.message}`);
    throw err;
  }
  const opts = last.opts as Record<string, unknown>;
  const parser = PARSERS[command];
  if (!parser) throw new Error(`${c.name}: no parse function known for ${command}; add it to PARSERS`);
  let parsed: unknown;
  try {
    parsed = await parser(opts);
    if ('log.level' in opts) loggerFromFlags(opts as never, command);
    for (const prefix of ['objstore', 'objstoreTo']) {
      const inline = opts[`${prefix}.config`] as string | undefined;
      const file = opts[`${prefix}.configFile`] as string | undefined;
      if (inline !== undefined || file !== undefined) await loadBucketConfig({ config: inline, configFile: file });
    }
  } catch (err) {
    throw new Error(`${c.name}: thanos-ts ${command} rejects a value: ${(err as Error).message}`);
  }
  return { command, missing: [...missing], parsed };
}

/** A file under fixtures/kube-thanos/files standing in for what a flag's path holds in the pod. */
function fixtureFileFor(flag: string): string {
  return join(fixtureDir, 'files', `${flag.slice(2)}.yaml`);
}

const kubeThanosCases: Case[] = fixture.containers.map((c) => ({
  name: `${c.file} ${c.workload}/${c.container}`,
  args: [...(c.command ?? []), ...c.args],
  env: c.env,
}));

/** One case per command with the option-only flags added to its first manifest's command line. */
const optionCases: Case[] = [...new Set(fixture.optionFlags.map((f) => f.command))].map((command) => {
  const base = kubeThanosCases.find((c) => commandPath(c.args) === command) as Case;
  const extra = fixture.optionFlags
    .filter((f) => f.command === command)
    .map((f) => {
      const v = OPTION_SAMPLES[`${command} ${f.flag}`];
      if (v === undefined)
        throw new Error(`no sample value for ${command} ${f.flag} (${f.source}); add it to OPTION_SAMPLES`);
      return `${f.flag}=${v}`;
    });
  return { name: `${command} with jsonnet options on`, args: [...base.args, ...extra], env: base.env };
});

const examplesDir = fileURLToPath(new URL('../../../examples/kubernetes/', import.meta.url));
const exampleCases: Case[] = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(examplesDir, f), 'utf8')).flatMap((doc) => {
      // biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read structurally.
      const o = doc.toJS() as any;
      if (o?.kind !== 'Deployment' && o?.kind !== 'StatefulSet') return [];
      return (o.spec.template.spec.containers ?? [])
        .filter((c: { image?: string }) => c.image === 'thanos-ts:local')
        .map((c: { name: string; args: string[]; env?: { name: string }[] }) => ({
          name: `examples/kubernetes/${f} ${o.metadata.name}/${c.name}`,
          args: c.args,
          env: (c.env ?? []).map((e) => e.name),
        }));
    }),
  );

describe('kube-thanos compatibility', () => {
  it('the fixture covers every kube-thanos component', () => {
    const commands = new Set(kubeThanosCases.map((c) => commandPath(c.args)));
    for (const c of [
      'query',
      'query-frontend',
      'store',
      'compact',
      'rule',
      'receive',
      'tools bucket web',
      'tools bucket replicate',
    ])
      expect(commands, c).toContain(c);
    expect(fixture.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('finds a flag the command lacks (the check can fail)', async () => {
    const r = await check({ name: 'self-test', args: ['store', '--no-such.flag=1', '--data-dir=/x'], env: [] });
    expect(r.missing).toEqual(['store --no-such.flag']);
    await expect(check({ name: 'self-test', args: ['store', '--sync-block-duration=soon'], env: [] })).rejects.toThrow(
      /sync-block-duration/,
    );
  });

  const all = [...kubeThanosCases, ...optionCases, ...exampleCases];
  const found = new Map<string, string[]>();

  it.each(all.map((c) => [c.name, c] as const))('%s: every flag is accepted and its value parses', async (_, c) => {
    const rejected = THANOS_REJECTS[c.name];
    if (rejected !== undefined) {
      await expect(check(c)).rejects.toThrow(rejected);
      // The flags are still checked one by one: without the conflicting pair's second half it parses.
      const args = c.args.filter((a) => !a.startsWith('--alertmanagers.url='));
      c = { ...c, args };
    }
    const r = await check(c);
    expect(r.parsed).toBeDefined();
    for (const m of r.missing) found.set(m, [...(found.get(m) ?? []), c.name]);
  });

  it('what is missing is exactly knownMissing', () => {
    const missing = [...found.keys()].sort();
    // A new entry here: kube-thanos passes a flag thanos-ts lacks. A disappeared one: remove it from knownMissing.
    expect(missing).toEqual([...knownMissing].sort());
  });

  it('examples/kubernetes runs the same components as kube-thanos examples/all', () => {
    const ours = new Set(exampleCases.map((c) => commandPath(c.args)));
    for (const c of new Set(kubeThanosCases.map((k) => commandPath(k.args)))) expect(ours, c).toContain(c);
    expect(ours).toContain('sidecar');
  });
});
