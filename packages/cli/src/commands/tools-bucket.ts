import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, NOP_LOGGER } from '@thanos-ts/core';
import { uploadBlock } from '@thanos-ts/core/block';
import {
  backupAndRetire,
  downloadBlock,
  duplicatedCompactionBlocks,
  gatherIndexHealthStats,
  indexHealthError,
  repairBlockIndex,
} from '@thanos-ts/core/compact';
import { mapLimit } from '@thanos-ts/core/concurrency';
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import {
  type BlockMeta,
  blockIdOfDir,
  DELETION_MARK_FILENAME,
  isULID,
  META_FILENAME,
  parseBlockMeta,
  readBlockMeta,
  serializeBlockMeta,
} from '@thanos-ts/tsdb';
import { formatGoDuration } from '@thanos-ts/tsdb/goformat';
import { Command, Option } from 'commander';
import { durationFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import type { ToolsRegistration } from './tools.js';
import { registerBucketCleanup } from './tools-bucket-cleanup.js';
import { registerBucketDownsample } from './tools-bucket-downsample.js';
import { registerBucketMark } from './tools-bucket-mark.js';
import { registerBucketReplicate } from './tools-bucket-replicate.js';
import { registerBucketRetention } from './tools-bucket-retention.js';
import { registerBucketRewrite } from './tools-bucket-rewrite.js';
import { registerBucketWeb } from './tools-bucket-web.js';

/** Where command output goes: one call per line (stdout in the CLI, an array in tests). */
export type Print = (line: string) => void;

/** Thanos's deletion marker file name inside a block directory. */
/** Raw blocks become eligible for 5m downsampling at 40h, 5m blocks for 1h at 10d (Thanos). */
const DOWNSAMPLE_RANGE_RAW_MS = 40 * 3600_000;
const DOWNSAMPLE_RANGE_5M_MS = 10 * 24 * 3600_000;

/** Columns of `tools bucket inspect`, as Thanos prints them. */
export const INSPECT_COLUMNS = [
  'ULID',
  'FROM',
  'UNTIL',
  'RANGE',
  'UNTIL-DOWN',
  '#SERIES',
  '#SAMPLES',
  '#CHUNKS',
  'COMP-LEVEL',
  'COMP-FAILED',
  'LABELS',
  'RESOLUTION',
  'SOURCE',
] as const;

/** What reading every block's meta.json found. */
export interface BlockMetaScan {
  /** Parsed metas, sorted by ULID. */
  metas: BlockMeta[];
  /** Block directories without meta.json (uploads in progress or abandoned). */
  partial: string[];
  /** Block directories whose meta.json could not be parsed. */
  corrupted: { id: string; error: string }[];
}

/**
 * Lists block directories (top-level `<ULID>/` entries) and reads their meta.json concurrently,
 * as Thanos's meta fetcher does. Non-block entries (e.g. `debug/`) are ignored.
 */
export async function scanBlockMetas(
  bucket: Bucket,
  opts: { signal?: AbortSignal; concurrency?: number } = {},
): Promise<BlockMetaScan> {
  const ids: string[] = [];
  for await (const name of bucket.iter('', { signal: opts.signal })) {
    const id = blockIdOfDir(name);
    if (id) ids.push(id);
  }
  const scan: BlockMetaScan = { metas: [], partial: [], corrupted: [] };
  const results = await mapLimit(ids, opts.concurrency ?? 32, async (id) => {
    try {
      const bytes = await bucket.get(`${id}/${META_FILENAME}`, { signal: opts.signal });
      return { id, meta: parseBlockMeta(Buffer.from(bytes).toString('utf8'), `${id}/${META_FILENAME}`) };
    } catch (err) {
      if (isObjNotFoundErr(err)) return { id, partial: true as const };
      if ((err as { code?: string }).code === 'TSDB_CORRUPT_BLOCK' || err instanceof SyntaxError)
        return { id, error: (err as Error).message };
      throw err;
    }
  });
  for (const r of results) {
    if ('meta' in r && r.meta) scan.metas.push(r.meta);
    else if ('partial' in r) scan.partial.push(r.id);
    else if ('error' in r) scan.corrupted.push({ id: r.id, error: r.error as string });
  }
  scan.metas.sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
  return scan;
}

/** Formats a ms timestamp (floored to seconds) as RFC 3339 in UTC, as Thanos's tools print block times. */
export function formatBlockTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Parses Thanos's label flags (`key="value"`, the value a Go-quoted string) into a label map.
 * Throws naming the flag value that is malformed.
 */
export function parseLabelFlags(values: readonly string[], flag = '--label'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`${flag} ${JSON.stringify(v)}: want key="value"`);
    const key = v.slice(0, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key))
      throw new Error(`${flag} ${JSON.stringify(v)}: invalid label name ${JSON.stringify(key)}`);
    const raw = v.slice(eq + 1);
    let value: string;
    try {
      value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      throw new Error(`${flag} ${JSON.stringify(v)}: value must be a quoted string like key="value"`);
    }
    if (typeof value !== 'string') throw new Error(`${flag} ${JSON.stringify(v)}: value must be a string`);
    labels[key] = value;
  }
  return labels;
}

function labelsText(labels: Record<string, string> | undefined): string {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${(labels as Record<string, string>)[k]}`)
    .join(',');
}

/**
 * `tools bucket ls`: one line per block. `output` "" prints ULIDs; "wide" adds times, range,
 * compaction level, resolution and source (Thanos's wide format); "json" prints each meta.json.
 * Returns the number of blocks printed.
 */
export async function bucketLs(
  bucket: Bucket,
  opts: { output?: string; excludeDelete?: boolean; signal?: AbortSignal },
  print: Print,
): Promise<number> {
  const output = opts.output ?? '';
  if (!['', 'wide', 'json'].includes(output)) {
    throw new Error(
      `--output ${JSON.stringify(output)} is not supported; use json or wide (Go templates are not supported by thanos-ts)`,
    );
  }
  const { metas } = await scanBlockMetas(bucket, { signal: opts.signal });
  let printed = 0;
  for (const m of metas) {
    if (opts.excludeDelete && (await bucket.exists(`${m.ulid}/${DELETION_MARK_FILENAME}`, { signal: opts.signal })))
      continue;
    printed++;
    if (output === '') print(m.ulid);
    else if (output === 'json') print(serializeBlockMeta(withThanosDefaults(m)).trimEnd());
    else {
      const from = Math.floor(m.minTime / 1000) * 1000;
      const until = Math.floor(m.maxTime / 1000) * 1000;
      print(
        `${m.ulid} -- ${formatBlockTime(m.minTime)} - ${formatBlockTime(m.maxTime)} Diff: ${formatGoDuration(until - from)}, Compaction: ${m.compaction.level}, Downsample: ${m.thanos?.downsample.resolution ?? 0}, Source: ${m.thanos?.source ?? ''}`,
      );
    }
  }
  return printed;
}

/** Thanos always has a `thanos` section in memory; print blocks without one the same way. */
function withThanosDefaults(m: BlockMeta): BlockMeta {
  return m.thanos ? m : { ...m, thanos: { labels: {}, downsample: { resolution: 0 }, source: '' } };
}

/** One row of `inspect`, in INSPECT_COLUMNS order. */
export function inspectRow(m: BlockMeta): string[] {
  const n = new Intl.NumberFormat('en-US');
  const range = m.maxTime - m.minTime;
  const res = m.thanos?.downsample.resolution ?? 0;
  const untilDown =
    res === 0
      ? formatGoDuration(DOWNSAMPLE_RANGE_RAW_MS - range)
      : res === 300_000
        ? formatGoDuration(DOWNSAMPLE_RANGE_5M_MS - range)
        : '-';
  return [
    m.ulid,
    formatBlockTime(m.minTime),
    formatBlockTime(m.maxTime),
    formatGoDuration(range),
    untilDown,
    n.format(m.stats.numSeries ?? 0),
    n.format(m.stats.numSamples ?? 0),
    n.format(m.stats.numChunks ?? 0),
    n.format(m.compaction.level),
    String(m.compaction.failed ?? false),
    labelsText(m.thanos?.labels),
    formatGoDuration(res),
    m.thanos?.source ?? '',
  ];
}

function compareCells(a: string, b: string): number {
  const time = (s: string) => (/^\d{4}-\d\d-\d\dT/.test(s) ? Date.parse(s) : Number.NaN);
  const dur = (s: string) => {
    const m = /^(-)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?$/.exec(s);
    if (!m || s === '') return Number.NaN;
    const v = Number(m[2] ?? 0) * 3600e3 + Number(m[3] ?? 0) * 60e3 + Number(m[4] ?? 0) * 1e3 + Number(m[5] ?? 0);
    return m[1] ? -v : v;
  };
  const int = (s: string) => (/^[\d,]+$/.test(s) ? Number(s.replaceAll(',', '')) : Number.NaN);
  for (const parse of [time, dur, int]) {
    const x = parse(a);
    const y = parse(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Renders rows as a bordered ASCII table (the layout of Thanos's tablewriter output). */
export function renderTable(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[], center: boolean) =>
    `|${cells
      .map((c, i) => {
        const w = widths[i] as number;
        if (!center) return ` ${c.padEnd(w)} `;
        const left = Math.floor((w - c.length) / 2);
        return ` ${' '.repeat(left)}${c}${' '.repeat(w - c.length - left)} `;
      })
      .join('|')}|`;
  return [rule, line(header, true), rule, ...rows.map((r) => line(r, false)), rule];
}

/**
 * `tools bucket inspect`: a table of every block's meta (Thanos's columns), filtered by
 * `selector` (every label must match exactly) and sorted by `sortBy` columns (then ULID).
 */
export async function bucketInspect(
  bucket: Bucket,
  opts: {
    selector?: Record<string, string>;
    sortBy?: readonly string[];
    output?: 'table' | 'csv' | 'tsv';
    signal?: AbortSignal;
  },
  print: Print,
): Promise<string[][]> {
  const sortIdx = (opts.sortBy ?? []).map((col) => {
    const i = (INSPECT_COLUMNS as readonly string[]).indexOf(col);
    if (i === -1) throw new Error(`--sort-by: column ${col} not found (columns: ${INSPECT_COLUMNS.join(', ')})`);
    return i;
  });
  const { metas } = await scanBlockMetas(bucket, { signal: opts.signal });
  const selector = opts.selector ?? {};
  const rows = metas
    .filter((m) => Object.entries(selector).every(([k, v]) => m.thanos?.labels[k] === v))
    .map(inspectRow)
    .sort((a, b) => {
      for (const i of sortIdx) {
        const c = compareCells(a[i] as string, b[i] as string);
        if (c !== 0) return c;
      }
      return compareCells(a[0] as string, b[0] as string);
    });
  const output = opts.output ?? 'table';
  if (output === 'table') for (const l of renderTable(INSPECT_COLUMNS, rows)) print(l);
  else {
    const sep = output === 'csv' ? ',' : '\t';
    const cell = (c: string) => (output === 'csv' && /[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
    for (const r of [[...INSPECT_COLUMNS], ...rows]) print(r.map(cell).join(sep));
  }
  return rows;
}

/** One problem `verify` found. */
export interface VerifyIssue {
  issue: VerifyIssueId;
  /** Group key (`resolution@{labels}`) for overlaps, block ULID otherwise. */
  subject: string;
  detail: string;
  /** With --repair: what was done (`repaired as <new ULID>`, `deleted`, `marked for deletion`) or why it failed. */
  repair?: string;
}

/** Issues `tools bucket verify` can check. */
export const VERIFY_ISSUES = [
  'overlapped_blocks',
  'missing_files',
  'index_known_issues',
  'duplicated_compaction',
] as const;
/** Issue identifiers (Thanos's, plus missing_files). */
export type VerifyIssueId = (typeof VERIFY_ISSUES)[number];
/** Issues `--repair` repairs (Thanos's verifier repairers). */
export const REPAIRABLE_ISSUES: readonly VerifyIssueId[] = ['index_known_issues', 'duplicated_compaction'];
/** Issues checked when --issues is not given (no index downloads by default). */
export const DEFAULT_VERIFY_ISSUES: readonly VerifyIssueId[] = ['overlapped_blocks', 'missing_files'];

/** What `verify --repair` needs besides the bucket. */
export interface VerifyRepairOptions {
  /** Old blocks are copied here before they are retired (--objstore-backup.config); required to repair. */
  backupBucket?: Bucket;
  /** 0 (default, Thanos's) deletes a retired block after its backup; otherwise it is marked for deletion (--delete-delay). */
  deleteDelayMs?: number;
  /** Scratch directory for downloads. Default: the OS temp directory. */
  tmpDir?: string;
  logger?: Logger;
  now?: () => number;
}

/**
 * Finds overlapping blocks among metas of one compaction group, as Prometheus's
 * `OverlappingBlocks`: runs of blocks (sorted by minTime) whose ranges intersect.
 */
export function findOverlaps(metas: readonly BlockMeta[]): BlockMeta[][] {
  const sorted = [...metas].sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  const overlaps: BlockMeta[][] = [];
  let run: BlockMeta[] = [];
  let runMax = Number.NEGATIVE_INFINITY;
  for (const m of sorted) {
    if (run.length > 0 && m.minTime < runMax) {
      run.push(m);
      runMax = Math.max(runMax, m.maxTime);
      continue;
    }
    if (run.length > 1) overlaps.push(run);
    run = [m];
    runMax = m.maxTime;
  }
  if (run.length > 1) overlaps.push(run);
  return overlaps;
}

/**
 * `tools bucket verify`: checks every block for missing files (meta.json, index, the chunk
 * files meta.json lists, with their sizes) and each compaction group (external labels +
 * resolution) for overlapping blocks. Prints one line per issue and returns them.
 */
export async function bucketVerify(
  bucket: Bucket,
  opts: {
    issues?: readonly string[];
    ids?: readonly string[];
    repair?: boolean;
    signal?: AbortSignal;
  } & VerifyRepairOptions,
  print: Print,
): Promise<VerifyIssue[]> {
  const issues: readonly string[] = opts.issues?.length ? opts.issues : DEFAULT_VERIFY_ISSUES;
  for (const i of issues) {
    if (!(VERIFY_ISSUES as readonly string[]).includes(i))
      throw new Error(`--issues: unknown issue ${JSON.stringify(i)} (known: ${VERIFY_ISSUES.join(', ')})`);
  }
  for (const group of ['overlapped_blocks', 'duplicated_compaction'])
    if (opts.ids?.length && issues.includes(group)) {
      throw new Error(
        `--id cannot be combined with the ${group} issue (id matching is not supported: it concerns whole groups); pass --issues=missing_files or index_known_issues`,
      );
    }
  if (opts.repair && !opts.backupBucket) throw new Error('repair is specified, so backup client is required');
  const logger = opts.logger ?? NOP_LOGGER;
  const now = opts.now ?? Date.now;
  const retire = {
    backupBucket: opts.backupBucket as Bucket,
    deleteDelayMs: opts.deleteDelayMs ?? 0,
    logger,
    now,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const found: VerifyIssue[] = [];
  const report = (i: VerifyIssue) => {
    found.push(i);
    print(
      `issue=${i.issue} ${i.issue === 'overlapped_blocks' ? 'group' : 'block'}=${i.subject} ${i.detail}${i.repair ? ` repair=${JSON.stringify(i.repair)}` : ''}`,
    );
  };
  const scan = await scanBlockMetas(bucket, { signal: opts.signal });
  const wanted = (id: string) => !opts.ids?.length || opts.ids.includes(id);

  if (issues.includes('missing_files')) {
    for (const id of scan.partial.filter(wanted))
      report({ issue: 'missing_files', subject: id, detail: 'missing meta.json (partial or abandoned upload)' });
    for (const c of scan.corrupted.filter((c) => wanted(c.id)))
      report({ issue: 'missing_files', subject: c.id, detail: `unreadable meta.json: ${c.error}` });
    for (const m of scan.metas.filter((m) => wanted(m.ulid))) {
      const present = new Set<string>();
      for await (const n of bucket.iter(m.ulid, { recursive: true, signal: opts.signal }))
        present.add(n.slice(m.ulid.length + 1));
      if (!present.has('index')) report({ issue: 'missing_files', subject: m.ulid, detail: 'missing index' });
      const listed = (m.thanos?.files ?? []).filter((f) => f.rel_path !== META_FILENAME);
      if (listed.length > 0) {
        for (const f of listed) {
          if (f.rel_path === 'index' && !present.has('index')) continue;
          if (!present.has(f.rel_path)) {
            report({ issue: 'missing_files', subject: m.ulid, detail: `missing ${f.rel_path} (listed in meta.json)` });
            continue;
          }
          if (f.size_bytes !== undefined) {
            const { size } = await bucket.attributes(`${m.ulid}/${f.rel_path}`, { signal: opts.signal });
            if (size !== f.size_bytes)
              report({
                issue: 'missing_files',
                subject: m.ulid,
                detail: `${f.rel_path} has ${size} bytes, meta.json says ${f.size_bytes}`,
              });
          }
        }
      } else if (![...present].some((n) => n.startsWith('chunks/'))) {
        report({ issue: 'missing_files', subject: m.ulid, detail: 'no chunk segment files under chunks/' });
      }
    }
  }

  if (issues.includes('overlapped_blocks')) {
    const groups = new Map<string, BlockMeta[]>();
    for (const m of scan.metas) {
      const key = `${m.thanos?.downsample.resolution ?? 0}@{${Object.keys(m.thanos?.labels ?? {})
        .sort()
        .map((k) => `${k}=${JSON.stringify(m.thanos?.labels[k])}`)
        .join(',')}}`;
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    for (const [key, metas] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      for (const run of findOverlaps(metas)) {
        const mint = Math.max(...run.map((m) => m.minTime));
        const maxt = Math.min(...run.map((m) => m.maxTime));
        report({
          issue: 'overlapped_blocks',
          subject: key,
          detail: `overlap=[mint: ${mint}, maxt: ${maxt}, range: ${formatGoDuration(Math.max(0, maxt - mint))}, blocks: ${run.length}]: ${run.map((m) => m.ulid).join(', ')}`,
        });
      }
    }
  }
  // Blocks already marked for deletion are being retired: not checked again (Thanos's verifier
  // fetches with an IgnoreDeletionMarkFilter of delay 0).
  const marked = new Set<string>();
  if (issues.includes('index_known_issues') || issues.includes('duplicated_compaction'))
    await mapLimit(scan.metas, 32, async (m) => {
      if (await bucket.exists(`${m.ulid}/${DELETION_MARK_FILENAME}`, { signal: opts.signal })) marked.add(m.ulid);
    });
  const active = scan.metas.filter((m) => !marked.has(m.ulid));

  if (issues.includes('index_known_issues')) {
    const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'index-issue-'));
    try {
      for (const m of active.filter((m) => wanted(m.ulid))) {
        let detail: string | undefined;
        const indexPath = join(tmp, `${m.ulid}.index`);
        try {
          await writeFile(indexPath, await bucket.get(`${m.ulid}/index`, { signal: opts.signal }));
          detail = indexHealthError(await gatherIndexHealthStats(indexPath, m.minTime, m.maxTime, opts.signal));
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          detail = `gather index issues ${m.ulid}: ${(err as Error).message}`;
        } finally {
          await rm(indexPath, { force: true });
        }
        if (!detail) continue;
        let repair: string | undefined;
        if (opts.repair) {
          try {
            const newId = await repairBlockIndex(bucket, m, { ...retire, dir: tmp });
            repair = `repaired as ${newId}; old block ${retire.deleteDelayMs === 0 ? 'deleted' : 'marked for deletion'}`;
          } catch (err) {
            if (opts.signal?.aborted) throw err;
            logger.error('could not repair index', { id: m.ulid, err: (err as Error).message });
            repair = `could not repair index: ${(err as Error).message}`;
          }
        }
        report({ issue: 'index_known_issues', subject: m.ulid, detail, ...(repair ? { repair } : {}) });
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  if (issues.includes('duplicated_compaction')) {
    for (const { keep, kill } of duplicatedCompactionBlocks(active)) {
      for (const m of kill) {
        let repair: string | undefined;
        if (opts.repair) {
          const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'safe-delete-'));
          try {
            await downloadBlock(bucket, m.ulid, join(tmp, m.ulid), 1, opts.signal);
            await backupAndRetire(bucket, join(tmp, m.ulid), m.ulid, retire);
            repair = retire.deleteDelayMs === 0 ? 'deleted' : 'marked for deletion';
          } catch (err) {
            if (opts.signal?.aborted) throw err;
            repair = `could not remove duplicate: ${(err as Error).message}`;
          } finally {
            await rm(tmp, { recursive: true, force: true });
          }
        }
        report({
          issue: 'duplicated_compaction',
          subject: m.ulid,
          detail: `duplicate of ${keep.ulid} (same range, compaction level, sources and stats)`,
          ...(repair ? { repair } : {}),
        });
      }
    }
  }

  print(
    `verify done: ${found.length} issue(s) in ${scan.metas.length + scan.partial.length + scan.corrupted.length} block(s)`,
  );
  return found;
}

/** Result of `upload-blocks`. */
export interface UploadBlocksResult {
  uploaded: string[];
  skipped: { id: string; reason: string }[];
}

/**
 * `tools bucket upload-blocks`: uploads every block directory under `path` (e.g. made by
 * `promtool tsdb create-blocks-from`) as Thanos's shipper does: adds the `thanos` section
 * (external `labels`, source "bucket.upload", `files` with sizes), uploads chunks, then the
 * index, then meta.json last (so a block without meta.json is a partial upload). Blocks already
 * in the bucket, and compacted blocks unless `uploadCompacted`, are skipped.
 */
export async function bucketUploadBlocks(
  bucket: Bucket,
  opts: {
    path: string;
    labels: Record<string, string>;
    uploadCompacted?: boolean;
    concurrency?: number;
    signal?: AbortSignal;
  },
  print: Print,
): Promise<UploadBlocksResult> {
  if (Object.keys(opts.labels).length === 0) {
    throw new Error(
      'no external labels configured, uniquely identifying external labels must be configured (--label); see docs/storage.md#external-labels',
    );
  }
  try {
    if (!(await stat(opts.path)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new Error(`unable to access path ${JSON.stringify(opts.path)}: ${(err as Error).message}`);
  }
  const result: UploadBlocksResult = { uploaded: [], skipped: [] };
  const skip = (id: string, reason: string) => {
    result.skipped.push({ id, reason });
    print(`skipped block ${id}: ${reason}`);
  };
  const entries = (await readdir(opts.path, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && isULID(e.name))
    .map((e) => e.name)
    .sort();
  for (const id of entries) {
    const dir = join(opts.path, id);
    let meta: BlockMeta;
    try {
      meta = await readBlockMeta(dir);
    } catch (err) {
      skip(id, (err as Error).message);
      continue;
    }
    if (meta.compaction.level > 1 && !opts.uploadCompacted) {
      skip(
        id,
        `compaction level ${meta.compaction.level} (pass --shipper.upload-compacted to upload compacted blocks)`,
      );
      continue;
    }
    if (await bucket.exists(`${id}/${META_FILENAME}`, { signal: opts.signal })) {
      skip(id, 'already in the bucket');
      continue;
    }
    const uploaded = await uploadBlock(bucket, dir, {
      labels: opts.labels,
      source: 'bucket.upload',
      meta,
      concurrency: Math.max(1, opts.concurrency ?? 5),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    result.uploaded.push(id);
    print(`uploaded block ${id} (${(uploaded.thanos?.files?.length ?? 1) - 1} files)`);
  }
  print(`synced blocks uploaded=${result.uploaded.length} skipped=${result.skipped.length}`);
  return result;
}

const collectValues = (value: string, previous: string[] = []) => [...previous, value];

/** Raw values of `tools bucket verify` flags as commander stores them. */
export interface BucketVerifyFlags extends ObjstoreFlags, LogFlags {
  'objstore-backup.configFile'?: string;
  'objstore-backup.config'?: string;
  repair: boolean;
  issues: string[];
  id: string[];
  deleteDelay: string;
}

/** Parses `tools bucket verify` flags; errors name the flag (Thanos's texts where it has them). */
export function parseBucketVerifyFlags(o: BucketVerifyFlags): {
  issues: string[];
  ids: string[];
  repair: boolean;
  deleteDelayMs: number;
} {
  for (const i of o.issues)
    if (!(VERIFY_ISSUES as readonly string[]).includes(i)) throw new Error(`--issues: no such issue ID ${i}`);
  for (const id of o.id) if (!isULID(id)) throw new Error(`--id: ${JSON.stringify(id)} is not a block ULID`);
  if (o['objstore-backup.configFile'] !== undefined && o['objstore-backup.config'] !== undefined)
    throw new Error('--objstore-backup.config-file and --objstore-backup.config are mutually exclusive; set only one');
  if (o.repair && o['objstore-backup.configFile'] === undefined && o['objstore-backup.config'] === undefined)
    throw new Error('repair is specified, so backup client is required');
  return {
    issues: o.issues,
    ids: o.id,
    repair: o.repair,
    deleteDelayMs: durationFlag(o.deleteDelay, 'delete-delay'),
  };
}
const stdout: Print = (line) => process.stdout.write(`${line}\n`);

async function withBucket<T>(flags: ObjstoreFlags, fn: (bucket: Bucket) => Promise<T>): Promise<T> {
  const bucket = await bucketFromFlags(flags);
  try {
    return await fn(bucket);
  } finally {
    await bucket.close();
  }
}

/** Registers `thanos-ts tools bucket ls|inspect|verify|upload-blocks|replicate|web|mark|cleanup|retention|rewrite|downsample` with Thanos's flags. */
export const registerBucketTools: ToolsRegistration = (tools) => {
  const bucket = new Command('bucket').description('Bucket utility commands');

  const ls = addObjstoreFlags(new Command('ls').description('List all blocks in the bucket.'))
    .addOption(
      new Option(
        '-o, --output <format>',
        "Optional format in which to print each block's information. Options are 'json' or 'wide'.",
      ).default(''),
    )
    .option('--exclude-delete', 'Exclude blocks marked for deletion.', false)
    .action(async (o: ObjstoreFlags & { output: string; excludeDelete: boolean }) => {
      await withBucket(o, (b) => bucketLs(b, { output: o.output, excludeDelete: o.excludeDelete }, stdout));
    });
  bucket.addCommand(ls);

  const inspect = addObjstoreFlags(
    new Command('inspect').description('Inspect all blocks in the bucket in detailed, table-like way.'),
  )
    .option(
      '-l, --selector <label>',
      'Selects blocks based on label, e.g. \'-l key1="value1" -l key2="value2"\'. All key value pairs must match.',
      collectValues,
      [],
    )
    .option(
      '--sort-by <column>',
      "Sort by columns. It's also possible to sort by multiple columns, e.g. '--sort-by FROM --sort-by UNTIL'.",
      collectValues,
      [],
    )
    .addOption(
      new Option('--output <format>', 'Output format for result.').choices(['table', 'csv', 'tsv']).default('table'),
    )
    .action(async (o: ObjstoreFlags & { selector: string[]; sortBy: string[]; output: 'table' | 'csv' | 'tsv' }) => {
      const selector = parseLabelFlags(o.selector, '--selector');
      await withBucket(o, (b) => bucketInspect(b, { selector, sortBy: o.sortBy, output: o.output }, stdout));
    });
  bucket.addCommand(inspect);

  const verify = addLogFlags(
    addObjstoreFlags(
      new Command('verify').description(
        'Verify all blocks in the bucket against specified issues. NOTE: Depending on issue this might take time and will need downloading all specified blocks to disk.',
      ),
    ),
  )
    .option(
      '--objstore-backup.config-file <path>',
      'Path to YAML file that contains object store-backup configuration. Used for repair logic to backup blocks before removal.',
    )
    .option(
      '--objstore-backup.config <yaml>',
      "Alternative to 'objstore-backup.config-file' flag (mutually exclusive). Content of YAML file that contains object store-backup configuration. Used for repair logic to backup blocks before removal.",
    )
    .option('-r, --repair', 'Attempt to repair blocks for which issues were detected', false)
    .option(
      '-i, --issues <issue>',
      `Issues to verify (and optionally repair). Possible issue to verify, without repair: [${VERIFY_ISSUES.filter((i) => !REPAIRABLE_ISSUES.includes(i)).join(' ')}]; Possible issue to verify and repair: [${REPAIRABLE_ISSUES.join(' ')}]. Default: ${DEFAULT_VERIFY_ISSUES.join(', ')}.`,
      collectValues,
      [],
    )
    .option(
      '--id <ulid>',
      'Block IDs to verify (and optionally repair) only. If none is specified, all blocks will be verified. Repeated field',
      collectValues,
      [],
    )
    .option(
      '--delete-delay <duration>',
      'Duration after which blocks marked for deletion would be deleted permanently from source bucket by compactor component. If delete-delay is non zero, blocks will be marked for deletion and compactor component is required to delete blocks from source bucket. If delete-delay is 0, blocks will be deleted straight away.',
      '0s',
    )
    .action(async (o: BucketVerifyFlags) => {
      const parsed = parseBucketVerifyFlags(o);
      const logger = loggerFromFlags(o, 'verify');
      const backup =
        o['objstore-backup.configFile'] !== undefined || o['objstore-backup.config'] !== undefined
          ? await bucketFromFlags({
              'objstore.configFile': o['objstore-backup.configFile'],
              'objstore.config': o['objstore-backup.config'],
            })
          : undefined;
      try {
        await withBucket(o, (b) =>
          bucketVerify(b, { ...parsed, logger, ...(backup ? { backupBucket: backup } : {}) }, stdout),
        );
      } finally {
        await backup?.close();
      }
    });
  bucket.addCommand(verify);

  const upload = addObjstoreFlags(
    new Command('upload-blocks').description('Upload blocks push blocks from the provided path to the object storage.'),
  )
    .option('--path <dir>', 'Path to the directory containing blocks to upload.', './data')
    .option('--label <key="value">', 'External labels to add to the uploaded blocks (repeated).', collectValues, [])
    .option('--shipper.upload-compacted', 'If true shipper will try to upload compacted blocks as well.', false)
    .option('--shipper.upload-concurrency <n>', 'Number of block files uploaded concurrently.', '5')
    .action(
      async (
        o: ObjstoreFlags & {
          path: string;
          label: string[];
          'shipper.uploadCompacted': boolean;
          'shipper.uploadConcurrency': string;
        },
      ) => {
        const labels = parseLabelFlags(o.label);
        const concurrency = Number(o['shipper.uploadConcurrency']);
        if (!Number.isInteger(concurrency) || concurrency < 1)
          throw new Error('--shipper.upload-concurrency must be a positive integer');
        await withBucket(o, (b) =>
          bucketUploadBlocks(
            b,
            { path: o.path, labels, uploadCompacted: o['shipper.uploadCompacted'], concurrency },
            stdout,
          ),
        );
      },
    );
  bucket.addCommand(upload);

  registerBucketReplicate(bucket);
  registerBucketWeb(bucket);
  registerBucketMark(bucket);
  registerBucketCleanup(bucket);
  registerBucketRetention(bucket);
  registerBucketRewrite(bucket);
  registerBucketDownsample(bucket);
  tools.addCommand(bucket);
};
