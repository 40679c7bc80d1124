/**
 * Main-thread CPU per heavy query of the quick start process (issue 13): the store gateway's
 * Series work and the querier's fetch and packing run on the main thread, evaluation in workers.
 * Figures are the main thread's own CPU time (`process.threadCpuUsage()` read in the quick start
 * process through an IPC probe preloaded with `--import`), so they stay meaningful on a loaded
 * machine, unlike wall times. With `--cpu-prof`, the main thread's CPU profile of the measured
 * window is grouped by file (self time per query).
 *
 *   npx tsx bench/core/query-isolation-cpu.ts [--runs=15] [--data-dir=DIR] [--cpu-prof]
 *
 * `--data-dir` keeps the quick start's bucket between runs (demo data is written only into an
 * empty bucket, which takes a while).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string) => new RegExp(`--${name}=(\\S+)`).exec(process.argv.join(' '))?.[1];
const runs = Number(arg('runs') ?? 15);
const keptDataDir = arg('data-dir');
const profile = process.argv.includes('--cpu-prof');
// The bench's HEAVY query (query-isolation.ts).
const HEAVY = 'sum by (cluster) (max_over_time(rate({__name__=~"http_.+"}[5m])[6h:30s]))';

/** What the probe reports: the main thread's CPU (µs) and event loop utilization, and its clock. */
interface ProbeReading {
  cpu: { user: number; system: number };
  elu: { idle: number; active: number; utilization: number };
  /** process.hrtime, µs (the clock of V8's profile timestamps on Linux). */
  nowUs: number;
}

// Preloaded into the quick start process: answers 'read' on the IPC channel, which it unrefs so
// the process still exits on its own.
const PROBE = `
import { performance } from 'node:perf_hooks';
process.on('message', (m) => {
  if (m !== 'read') return;
  process.send({ cpu: process.threadCpuUsage(), elu: performance.eventLoopUtilization(),
    nowUs: Number(process.hrtime.bigint() / 1000n) });
});
process.channel?.unref();
`;

const dataDir = keptDataDir ? resolve(keptDataDir) : await mkdtemp(join(tmpdir(), 'bench-isolation-cpu-'));
await mkdir(dataDir, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'bench-isolation-cpu-probe-'));
const probeUrl = `data:text/javascript,${encodeURIComponent(PROBE)}`;
const profDir = join(work, 'prof');

const child: ChildProcess = spawn(
  process.execPath,
  [
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
    '--import',
    'tsx',
    '--import',
    probeUrl,
    'packages/cli/src/main.ts',
    'quickstart',
    `--data-dir=${dataDir}`,
    '--http-address=127.0.0.1:0',
    '--remote-write.address=127.0.0.1:0',
    '--days=2',
  ],
  { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
);
let out = '';
child.stdout?.on('data', (d) => (out += d));
child.stderr?.on('data', (d) => (out += d));
const exited = new Promise<void>((res) => child.once('exit', () => res()));
const url = await new Promise<string>((res, rej) => {
  const timer = setTimeout(() => rej(new Error(`quick start not ready in 300 s: ${out}`)), 300_000);
  const check = () => {
    const m = /ready: (http:\/\/\S+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      res(m[1] as string);
    }
  };
  child.stdout?.on('data', check);
  void exited.then(() => rej(new Error(`quick start exited: ${out}`)));
});

const read = () =>
  new Promise<ProbeReading>((res) => {
    child.once('message', (m) => res(m as ProbeReading));
    child.send('read');
  });

const end = Math.floor(Date.now() / 1000);
const start = end - 2 * 86400;
async function heavy(): Promise<void> {
  const res = await fetch(`${url}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: HEAVY, start: String(start), end: String(end), step: '300' }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`heavy query: HTTP ${res.status}`);
}

const cpuMs = (a: ProbeReading, b: ProbeReading) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
const loadAtStart = loadavg()[0] as number;
const perQuery: number[] = [];
const systemPerQuery: number[] = [];
// The quick start's other components (ruler, receiver, syncs) use the main thread too: their
// rate, measured over an idle window, is taken off each query's figure for the net row.
const netPerQuery: number[] = [];
let idleCpuPerSec = 0;
const activePerQuery: number[] = [];
let window: [number, number] = [0, 0];
try {
  for (let i = 0; i < 3; i++) await heavy(); // warm up: index-headers, JIT, workers
  const idleA = await read();
  await new Promise((res) => setTimeout(res, 5000));
  const idleB = await read();
  idleCpuPerSec = cpuMs(idleA, idleB) / ((idleB.nowUs - idleA.nowUs) / 1e6);
  const first = await read();
  for (let r = 0; r < runs; r++) {
    const a = await read();
    await heavy();
    const b = await read();
    perQuery.push(cpuMs(a, b));
    systemPerQuery.push((b.cpu.system - a.cpu.system) / 1000);
    netPerQuery.push(cpuMs(a, b) - (idleCpuPerSec * (b.nowUs - a.nowUs)) / 1e6);
    activePerQuery.push(b.elu.active - a.elu.active);
  }
  const last = await read();
  window = [first.nowUs, last.nowUs];
} finally {
  child.kill('SIGTERM');
  await exited;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const q = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
console.log(`heavy query: ${HEAVY} over 2 days, step 5m; ${runs} runs one at a time`);
console.log(`load average (1 min): ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] as number).toFixed(1)} at end`);
console.log('| main thread per heavy query, ms | min | median | mean |');
console.log('| --- | --- | --- | --- |');
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(
  `| CPU (threadCpuUsage) | ${q(perQuery, 0).toFixed(0)} | ${q(perQuery, 0.5).toFixed(0)} | ${mean(perQuery).toFixed(0)} |`,
);
console.log(
  `| CPU net of the idle rate (${idleCpuPerSec.toFixed(1)} ms/s) | ${q(netPerQuery, 0).toFixed(0)} | ${q(netPerQuery, 0.5).toFixed(0)} | ${mean(netPerQuery).toFixed(0)} |`,
);
console.log(
  `| of which system (kernel) | ${q(systemPerQuery, 0).toFixed(0)} | ${q(systemPerQuery, 0.5).toFixed(0)} | ${mean(systemPerQuery).toFixed(0)} |`,
);
console.log(
  `| event loop active (ELU, wall) | ${q(activePerQuery, 0).toFixed(0)} | ${q(activePerQuery, 0.5).toFixed(0)} | ${mean(activePerQuery).toFixed(0)} |`,
);

if (profile) {
  // The main thread's profile is the one with thread id 0 in its name (CPU.<date>.<pid>.0.<n>).
  const files = (await readdir(profDir)).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  const prof = JSON.parse(await readFile(join(profDir, files[0] as string), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n.callFrame]));
  const root = pathToFileURL(process.cwd()).href;
  const selfUs = new Map<string, number>();
  const fnUs = new Map<string, number>();
  let t = prof.startTime;
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] as number;
    t += dt;
    if (t < window[0] || t > window[1]) continue;
    const f = byId.get(prof.samples[i] as number);
    if (!f || f.functionName === '(idle)') continue;
    const key = f.url ? `${f.url.replace(root, '')}` : f.functionName;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    const fn = `${f.functionName || '(anonymous)'} ${key.split('/').slice(-2).join('/')}`;
    fnUs.set(fn, (fnUs.get(fn) ?? 0) + dt);
    busy += dt;
  }
  console.log(`\nCPU profile of the window (${profDir}), self time per heavy query (wall-sampled):`);
  console.log(`| file | ms per query |\n| --- | --- |\n| all but (idle) | ${(busy / 1000 / runs).toFixed(1)} |`);
  for (const [k, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`| ${k} | ${(us / 1000 / runs).toFixed(1)} |`);
  console.log('\n| function | ms per query |\n| --- | --- |');
  for (const [k, us] of [...fnUs].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`| ${k} | ${(us / 1000 / runs).toFixed(1)} |`);
}
if (!keptDataDir) await rm(dataDir, { recursive: true, force: true });
if (!profile) await rm(work, { recursive: true, force: true });
