import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableCores, cgroupCpuLimit, coresWithin, parseCfsQuota, parseCpuMax } from './cores.js';

/** A directory laid out like `/` with the given files. */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cores-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('CPUs this process may use (cgroup CPU quota)', () => {
  it('reads cgroup v2 cpu.max and v1 cfs quota/period', () => {
    expect(parseCpuMax('150000 100000\n')).toBe(1.5);
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    expect(parseCpuMax(undefined)).toBeUndefined();
    expect(parseCfsQuota('50000\n', '100000\n')).toBe(0.5);
    expect(parseCfsQuota('-1\n', '100000\n')).toBeUndefined();
  });

  it('bounds the affinity by the quota, rounded up, never below one', () => {
    expect(coresWithin(8, 1.5)).toBe(2);
    expect(coresWithin(2, 4)).toBe(2);
    expect(coresWithin(8, 0.25)).toBe(1);
    expect(coresWithin(8, undefined)).toBe(8);
  });

  it('cgroup v2 in a container namespace: the mounted root is the container', () => {
    const root = fakeRoot({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '150000 100000\n' });
    expect(cgroupCpuLimit(root)).toBe(1.5);
  });

  it('cgroup v2 without a namespace: the lowest quota of the cgroup and its ancestors', () => {
    const root = fakeRoot({
      'proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      'sys/fs/cgroup/kubepods/pod1/cpu.max': '100000 100000\n',
      'sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000\n',
    });
    expect(cgroupCpuLimit(root)).toBe(1);
  });

  it('cgroup v1: the cpu controller hierarchy; -1 is no quota', () => {
    const limited = fakeRoot({
      'proc/self/cgroup': '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '250000\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(limited)).toBe(2.5);
    const unlimited = fakeRoot({
      'proc/self/cgroup': '1:cpu:/\n',
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(unlimited)).toBeUndefined();
  });

  it('no cgroup files: no limit; this machine: between one and the affinity', () => {
    expect(cgroupCpuLimit(fakeRoot({}))).toBeUndefined();
    expect(availableCores()).toBeGreaterThanOrEqual(1);
    expect(availableCores()).toBeLessThanOrEqual(availableParallelism());
  });
});
