import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The CPUs this process may keep busy: `os.availableParallelism()` (the CPU affinity, such as
 * `taskset` or a cpuset) bounded by a cgroup CPU quota rounded up (a Kubernetes CPU limit), as Go
 * 1.25 sizes GOMAXPROCS. Node itself sees only the affinity, so a pod limited to one CPU on a
 * 32-core node would otherwise size its worker pools for 32. Read once per process.
 */
export function availableCores(): number {
  cached ??= coresWithin(availableParallelism(), cgroupCpuLimit('/'));
  return cached;
}
let cached: number | undefined;

/** `affinity` bounded by a CPU `limit` (fractional CPUs, rounded up); at least 1. */
export function coresWithin(affinity: number, limit: number | undefined): number {
  if (limit === undefined) return Math.max(1, affinity);
  return Math.max(1, Math.min(affinity, Math.ceil(limit)));
}

/**
 * The lowest CPU quota (in CPUs) on this process's cgroup and its ancestors, read under `root`
 * (`/` on a real system; tests pass a directory laid out like one), or undefined without one.
 * cgroup v2: `cpu.max` (`<quota> <period>` or `max <period>`); v1: `cpu.cfs_quota_us` (-1: none)
 * over `cpu.cfs_period_us` in the `cpu` controller's hierarchy.
 */
export function cgroupCpuLimit(root: string): number | undefined {
  const membership = read(join(root, 'proc/self/cgroup'));
  if (membership === undefined) return undefined;
  let lowest: number | undefined;
  const take = (cpus: number | undefined) => {
    if (cpus !== undefined && (lowest === undefined || cpus < lowest)) lowest = cpus;
  };
  for (const line of membership.split('\n')) {
    const [id, controllers, path] = splitMembership(line);
    if (path === undefined) continue;
    if (id === '0' && controllers === '') {
      // v2: the unified hierarchy, mounted at /sys/fs/cgroup (or /sys/fs/cgroup/unified beside v1).
      for (const mount of ['sys/fs/cgroup', 'sys/fs/cgroup/unified'])
        for (const dir of ancestors(join(root, mount), path)) take(parseCpuMax(read(join(dir, 'cpu.max'))));
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of [`sys/fs/cgroup/${controllers}`, 'sys/fs/cgroup/cpu', 'sys/fs/cgroup/cpu,cpuacct'])
        for (const dir of ancestors(join(root, mount), path))
          take(parseCfsQuota(read(join(dir, 'cpu.cfs_quota_us')), read(join(dir, 'cpu.cfs_period_us'))));
    }
  }
  return lowest;
}

/** CPUs of a cgroup v2 `cpu.max` file's text, or undefined for `max` or anything unreadable. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return cpus(Number(quota), Number(period ?? 100_000));
}

/** CPUs of cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` texts; -1 means no quota. */
export function parseCfsQuota(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined) return undefined;
  return cpus(Number(quota.trim()), Number(period.trim()));
}

function cpus(quota: number, period: number): number | undefined {
  return Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? quota / period : undefined;
}

/** `id:controllers:path` of a /proc/self/cgroup line (the path may itself hold colons). */
function splitMembership(line: string): [string, string, string | undefined] {
  const a = line.indexOf(':');
  const b = a < 0 ? -1 : line.indexOf(':', a + 1);
  if (b < 0) return ['', '', undefined];
  return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1)];
}

/** The cgroup directory of `path` under `mount`, then each parent up to the mount itself. */
function ancestors(mount: string, path: string): string[] {
  const out: string[] = [];
  let dir = join(mount, path);
  for (;;) {
    out.push(dir);
    if (dir === mount || !dir.startsWith(mount)) return out;
    dir = dirname(dir);
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
