import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, programAvailable, type RunningPrometheus, startPrometheus, waitFor } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusClient } from './prometheus-client.js';
import { createReloader, expandEnv } from './reloader.js';
import { createSidecar } from './sidecar.js';

describe('expandEnv', () => {
  it('replaces $(VAR) and names an unset one', () => {
    expect(expandEnv('a: $(A)\nb: $(B_2) $C', { A: 'x', B_2: 'y' })).toBe('a: x\nb: y $C');
    expect(() => expandEnv('x: $(NOPE)', {}, 'prom.yml.tmpl')).toThrow(
      'prom.yml.tmpl: found reference to unset environment variable "NOPE"',
    );
  });
});

describe.skipIf(!programAvailable('prometheus'))('reloader against Prometheus 2.42', () => {
  let prom: RunningPrometheus;
  let work: string;
  beforeAll(async () => {
    prom = await startPrometheus({ config: 'global:\n  external_labels:\n    cluster: initial\n' });
    work = await makeTempDir('reloader-');
  });
  afterAll(async () => {
    await prom?.stop();
  });

  it('writes the substituted config, reloads Prometheus on start and on every change', async () => {
    const template = join(work, 'prometheus.yml.tmpl');
    const rules = join(work, 'rules');
    await mkdir(rules);
    const ruleFiles = `rule_files:\n  - ${join(rules, '*.yml')}\n`;
    await writeFile(template, `global:\n  external_labels:\n    cluster: $(CLUSTER)\n${ruleFiles}`);
    const output = join(prom.dir, 'prometheus.yml');
    const client = createPrometheusClient({ url: prom.url });
    const reloader = createReloader({
      reloadUrl: `${prom.url}/-/reload`,
      configFile: template,
      configOutputFile: output,
      watchedDirs: [rules],
      env: { CLUSTER: 'eu-1' },
      watchInterval: 2_000,
    });
    try {
      await reloader.start();
      expect(await readFile(output, 'utf8')).toContain('cluster: eu-1');
      expect((await client.externalLabels()).toRecord()).toEqual({ cluster: 'eu-1' });
      // Unchanged files: no reload.
      expect(await reloader.apply()).toBe(false);
      // An edit is noticed through file-system events (or, where those do not work, the 2 s tick).
      await writeFile(template, `global:\n  external_labels:\n    cluster: $(CLUSTER)\n    replica: b\n${ruleFiles}`);
      await waitFor('reloaded labels', async () => (await client.externalLabels()).get('replica') === 'b', 10_000);
      // A new rule file in a watched directory is loaded too.
      await writeFile(
        join(rules, 'r.yml'),
        'groups:\n  - name: from-reloader\n    rules:\n      - record: one\n        expr: vector(1)\n',
      );
      await waitFor(
        'rule group loaded',
        async () => {
          const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
            data: { groups: { name: string }[] };
          };
          return body.data.groups.some((g) => g.name === 'from-reloader');
        },
        10_000,
      );
    } finally {
      await reloader.close();
    }
  });

  it('keeps the external labels of a sidecar in step with the config it reloads', async () => {
    const template = join(work, 'sidecar.yml.tmpl');
    await writeFile(template, 'global:\n  external_labels:\n    cluster: from-template\n');
    const sidecar = createSidecar({
      prometheusUrl: prom.url,
      getConfigIntervalMs: 200,
      reloader: { configFile: template, configOutputFile: join(prom.dir, 'prometheus.yml'), watchInterval: 2_000 },
    });
    try {
      await sidecar.start();
      await waitFor(
        'labels from the template',
        async () => sidecar.externalLabels().get('cluster') === 'from-template',
        10_000,
      );
      await writeFile(template, 'global:\n  external_labels:\n    cluster: edited\n');
      await waitFor('edited labels', async () => sidecar.externalLabels().get('cluster') === 'edited', 10_000);
      expect((await sidecar.info()).labelSets.map((l) => l.toRecord())).toEqual([{ cluster: 'edited' }]);
    } finally {
      await sidecar.close();
    }
  });

  it('fails clearly when Prometheus refuses to reload', async () => {
    const template = join(work, 'bad.yml');
    await writeFile(template, 'global: [not, a, map]\n');
    const reloader = createReloader({
      reloadUrl: `${prom.url}/-/reload`,
      configFile: template,
      configOutputFile: join(prom.dir, 'prometheus.yml'),
      watchInterval: 300,
      retryInterval: 100,
    });
    await expect(reloader.apply()).rejects.toThrow(new RegExp(`trigger reload ${prom.url}/-/reload: answered 500`));
    await reloader.close();
  });
});
