// What a process has used so far, from Linux's /proc: on a shared machine CPU time compares
// better than wall time.
import { readFileSync } from 'node:fs';

/** utime + stime of a process, all threads, ms (fields 14 and 15 of /proc/<pid>/stat, 1/100 s ticks). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A `<key>: <n> kB` line of /proc/<pid>/status (VmRSS, VmHWM, …), kB; 0 when absent. */
export function processStatusKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}
