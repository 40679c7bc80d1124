import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '@thanos-ts/cli';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are checked structurally below.
type K8sObject = any;

/** commander's Command as the CLI package resolves it (examples/ may see another copy). */
type CliCommand = ReturnType<typeof buildProgram>;

const dir = import.meta.dirname;
const objects: K8sObject[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]?.message}`);
      return { ...doc.toJS(), __file: f };
    }),
  );

const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
const podSpecs = workloads.map((w) => ({ workload: w, template: w.spec.template }));

function containersOf(spec: K8sObject): K8sObject[] {
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** thanos-ts containers: [container, pod spec, command, flags]. */
const thanosContainers = podSpecs.flatMap(({ template }) =>
  template.spec.containers
    .filter((c: K8sObject) => c.image === 'thanos-ts:local')
    .map((c: K8sObject) => ({
      container: c,
      pod: template.spec,
      command: c.args[0] as string,
      flags: c.args.slice(1) as string[],
    })),
);

describe('kubernetes example manifests', () => {
  it('parse and are all namespaced in thanos', () => {
    expect(objects.length).toBeGreaterThanOrEqual(10);
    for (const o of objects) {
      expect(o.apiVersion, o.__file).toBeTruthy();
      expect(o.metadata?.name, o.__file).toBeTruthy();
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('thanos');
    }
  });

  it('workload selectors match their pod labels', () => {
    for (const w of workloads) expect(selects(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
  });

  it('every service selects pods that expose its target ports', () => {
    for (const svc of byKind('Service')) {
      const pods = podSpecs.filter(({ template }) => selects(svc.spec.selector, template.metadata.labels));
      expect(pods.length, `service ${svc.metadata.name} selects no pods`).toBeGreaterThan(0);
      for (const port of svc.spec.ports) {
        for (const { template } of pods) {
          const names = containersOf(template.spec).flatMap((c) => (c.ports ?? []).map((p: K8sObject) => p.name));
          expect(names, `service ${svc.metadata.name} targetPort ${port.targetPort}`).toContain(port.targetPort);
        }
      }
    }
  });

  it('probes name ports of their own container', () => {
    for (const { template } of podSpecs) {
      for (const c of containersOf(template.spec)) {
        const port = c.readinessProbe?.httpGet?.port;
        if (port !== undefined) expect((c.ports ?? []).map((p: K8sObject) => p.name)).toContain(port);
      }
    }
  });

  it('volumes reference existing secrets and config maps', () => {
    const names = (kind: string) => byKind(kind).map((o) => o.metadata.name);
    for (const { template } of podSpecs) {
      for (const v of template.spec.volumes ?? []) {
        if (v.secret) expect(names('Secret')).toContain(v.secret.secretName);
        if (v.configMap) expect(names('ConfigMap')).toContain(v.configMap.name);
      }
    }
  });

  it('dnssrv+ endpoints name headless services with a grpc port', () => {
    const endpoints = thanosContainers.flatMap(({ flags }) =>
      flags
        .filter((f: string) => f.startsWith('--endpoint=dnssrv+'))
        .map((f: string) => f.slice('--endpoint=dnssrv+'.length)),
    );
    expect(endpoints.length).toBeGreaterThanOrEqual(2);
    for (const ep of endpoints) {
      const m = /^_([a-z0-9-]+)\._tcp\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(ep);
      expect(m, ep).not.toBeNull();
      const [, portName, service, namespace] = m as unknown as [string, string, string, string];
      const svc = byKind('Service').find((s) => s.metadata.name === service && s.metadata.namespace === namespace);
      expect(svc, `service ${service}.${namespace}`).toBeDefined();
      expect(svc.spec.clusterIP).toBe('None');
      expect(svc.spec.ports.map((p: K8sObject) => p.name)).toContain(portName);
    }
  });

  it('files passed by flags are mounted from a secret or config map key', () => {
    for (const { container, pod, flags } of thanosContainers) {
      for (const flag of flags) {
        const m =
          /^--(objstore\.config-file|store\.sd-files|query-range\.response-cache-config-file|receive\.hashrings-file)=(.+)$/.exec(
            flag,
          );
        if (!m) continue;
        const path = m[2] as string;
        const mount = container.volumeMounts.find((vm: K8sObject) => path.startsWith(`${vm.mountPath}/`));
        expect(mount, `${flag} is not under a mount`).toBeDefined();
        const volume = pod.volumes.find((v: K8sObject) => v.name === mount.name);
        const key = path.slice(mount.mountPath.length + 1);
        const source = volume.secret
          ? byKind('Secret').find((s) => s.metadata.name === volume.secret.secretName)?.stringData
          : byKind('ConfigMap').find((c) => c.metadata.name === volume.configMap.name)?.data;
        expect(Object.keys(source ?? {}), flag).toContain(key);
      }
    }
  });

  it('thanos-ts containers use real commands and flags of this CLI', () => {
    // Values are parsed too, in packages/cli/test/kube-thanos.test.ts; this checks the names.
    const program = buildProgram();
    expect(thanosContainers.length).toBeGreaterThanOrEqual(3);
    for (const { container } of thanosContainers) {
      const words = (container.args as string[]).filter(
        (_, i, all) => !all.slice(0, i + 1).some((a) => a.startsWith('-')),
      );
      let cmd: CliCommand | undefined = program;
      for (const w of words) cmd = cmd?.commands.find((c) => c.name() === w);
      expect(cmd, `thanos-ts ${words.join(' ')} is not a command`).toBeDefined();
      const known = new Set(cmd!.options.map((o) => o.long));
      for (const flag of container.args.slice(words.length) as string[])
        expect(known, `thanos-ts ${words.join(' ')} ${flag}`).toContain(flag.split('=')[0]);
    }
  });

  it('has every kube-thanos examples/all component', () => {
    const commands = new Set(
      thanosContainers.map(({ container }) =>
        (container.args as string[])
          .filter((_, i, all) => !all.slice(0, i + 1).some((a) => a.startsWith('-')))
          .join(' '),
      ),
    );
    for (const c of [
      'sidecar',
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
    const names = workloads.map((w) => w.metadata.name);
    for (const n of ['thanos-store-0', 'thanos-compact-0', 'thanos-receive-router']) expect(names).toContain(n);
  });
});
