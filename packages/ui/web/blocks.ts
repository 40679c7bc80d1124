import { callAPI } from './api.ts';
import { h } from './dom.ts';
import { formatBytes, formatCount, formatDuration, formatTime } from './format.ts';

/** A block's meta.json as Thanos's /api/v1/blocks lists it. */
export interface BlockMetaJSON {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats?: { numSamples?: number; numSeries?: number; numChunks?: number };
  compaction: { level: number; sources?: string[] };
  thanos?: {
    labels?: Record<string, string>;
    downsample?: { resolution: number };
    source?: string;
    files?: { rel_path: string; size_bytes?: number }[];
  };
}

/** Marks of one block (thanos-ts's addition to Thanos's blocks API). */
export interface BlockMarks {
  deletion?: { deletion_time: number; details?: string };
  noCompact?: { no_compact_time: number; reason: string; details?: string };
}

/** The `data` of /api/v1/blocks: Thanos's BlocksInfo plus `marks` by ULID. */
export interface BlocksInfo {
  label: string;
  blocks: BlockMetaJSON[];
  refreshedAt: string | null;
  err: string | null;
  marks?: Record<string, BlockMarks>;
}

const RES_NAMES: Record<number, string> = { 0: 'raw', 300000: '5m', 3600000: '1h' };

/** Fill of a block: hue by resolution (raw blue, 5m green, 1h orange), darker with each compaction level. */
export function blockColor(resolutionMs: number, level: number): string {
  const hue = resolutionMs === 0 ? 210 : resolutionMs === 300_000 ? 130 : 30;
  const light = Math.max(28, 72 - (level - 1) * 12);
  return `hsl(${hue}, 65%, ${light}%)`;
}

function labelsKey(labels: Record<string, string> | undefined): string {
  const e = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return e.length === 0 ? '{}' : `{${e.map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

/** Greedy lanes: each block goes to the first lane whose last block ends before it starts. */
function lanes(blocks: BlockMetaJSON[]): BlockMetaJSON[][] {
  const out: BlockMetaJSON[][] = [];
  for (const b of [...blocks].sort((x, y) => x.minTime - y.minTime || y.maxTime - x.maxTime)) {
    const lane = out.find((l) => (l[l.length - 1] as BlockMetaJSON).maxTime <= b.minTime);
    if (lane) lane.push(b);
    else out.push([b]);
  }
  return out;
}

function sizeOf(b: BlockMetaJSON): number | undefined {
  const files = b.thanos?.files;
  if (!files || files.length === 0) return undefined;
  return files.reduce((n, f) => n + (f.size_bytes ?? 0), 0);
}

/**
 * The bucket page (Thanos's block viewer): blocks drawn on one time axis, a row of lanes per
 * external-label set and resolution, coloured by resolution and compaction level; hovering or
 * clicking shows ULID, range, size, series, samples, chunks, sources and marks. Blocks marked for
 * deletion are hatched red, no-compact ones get a dashed outline.
 */
export async function renderBlocksPage(root: HTMLElement): Promise<void> {
  const body = h('div', { class: 'blocks' }, h('div', { class: 'muted' }, 'Loading…'));
  const details = h('div', { class: 'block-details muted' }, 'Hover over or click a block for its details.');
  // Details go below the timeline, so what they show never moves the blocks under the cursor.
  root.append(h('div', { class: 'page-head' }, h('h2', null, 'Blocks'), legend()), body, details);
  let info: BlocksInfo;
  try {
    info = (await callAPI<BlocksInfo>('/api/v1/blocks')).data;
  } catch (err) {
    body.replaceChildren(
      h('div', { class: 'alert error' }, h('strong', null, 'Error fetching blocks: '), (err as Error).message),
    );
    return;
  }
  const marks = info.marks ?? {};
  const head: (HTMLElement | string)[] = [];
  if (info.err) head.push(h('div', { class: 'alert error' }, h('strong', null, 'Error syncing blocks: '), info.err));
  head.push(
    h(
      'div',
      { class: 'muted' },
      info.refreshedAt
        ? `${info.blocks.length} blocks, synced at ${formatTime(Date.parse(info.refreshedAt))} UTC`
        : 'Not synced yet.',
    ),
  );
  if (info.blocks.length === 0) {
    body.replaceChildren(...head, h('div', { class: 'alert warning' }, 'No blocks.'));
    return;
  }
  const minT = Math.min(...info.blocks.map((b) => b.minTime));
  const maxT = Math.max(...info.blocks.map((b) => b.maxTime));
  const span = Math.max(1, maxT - minT);
  const pct = (t: number) => `${(((t - minT) / span) * 100).toFixed(4)}%`;

  const groups = new Map<string, BlockMetaJSON[]>();
  for (const b of info.blocks) {
    const key = labelsKey(b.thanos?.labels);
    const list = groups.get(key) ?? [];
    list.push(b);
    groups.set(key, list);
  }
  const show = (b: BlockMetaJSON) => details.replaceChildren(blockDetails(b, marks[b.ulid]));
  const sections = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, blocks]) => {
      const byRes = new Map<number, BlockMetaJSON[]>();
      for (const b of blocks) {
        const r = b.thanos?.downsample?.resolution ?? 0;
        byRes.set(r, [...(byRes.get(r) ?? []), b]);
      }
      const rows = [...byRes.entries()]
        .sort(([a], [b]) => a - b)
        .flatMap(([res, list]) =>
          lanes(list).map((lane, i) =>
            h(
              'div',
              { class: 'timeline-row' },
              h('div', { class: 'timeline-label muted' }, i === 0 ? (RES_NAMES[res] ?? formatDuration(res)) : ''),
              h(
                'div',
                { class: 'timeline-lane' },
                lane.map((b) => {
                  const m = marks[b.ulid];
                  const cls = ['block', m?.deletion ? 'marked-deletion' : '', m?.noCompact ? 'marked-no-compact' : '']
                    .filter(Boolean)
                    .join(' ');
                  return h('div', {
                    class: cls,
                    'data-ulid': b.ulid,
                    'data-level': b.compaction.level,
                    style: `left:${pct(b.minTime)};width:calc(${pct(b.maxTime)} - ${pct(b.minTime)});background-color:${blockColor(res, b.compaction.level)}`,
                    title: `${b.ulid}  level ${b.compaction.level}  ${formatTime(b.minTime)} – ${formatTime(b.maxTime)}`,
                    onmouseenter: () => show(b),
                    onclick: () => show(b),
                  });
                }),
              ),
            ),
          ),
        );
      // --label of `tools bucket web`: that label's value titles the group, as in Thanos's viewer.
      const title = info.label ? blocks[0]?.thanos?.labels?.[info.label] : undefined;
      return h(
        'div',
        { class: 'block-group', 'data-labels': key },
        h(
          'h3',
          null,
          title === undefined ? '' : h('span', { class: 'group-title' }, `${title} `),
          key,
          ' ',
          h('span', { class: 'muted' }, `${blocks.length} blocks`),
        ),
        rows,
      );
    });
  const axis = h(
    'div',
    { class: 'timeline-row axis' },
    h('div', { class: 'timeline-label' }),
    h(
      'div',
      { class: 'timeline-lane axis-lane' },
      [0, 0.25, 0.5, 0.75, 1].map((f) =>
        h('span', { class: 'tick', style: `left:${f * 100}%` }, formatTime(minT + f * span).slice(0, 16)),
      ),
    ),
  );
  body.replaceChildren(...head, axis, ...sections);
}

function legend(): HTMLElement {
  const swatch = (color: string, text: string, cls = '') =>
    h(
      'span',
      { class: 'legend-item' },
      h('span', { class: `swatch ${cls}`, style: `background-color:${color}` }),
      text,
    );
  return h(
    'div',
    { class: 'blocks-legend' },
    [1, 2, 3, 4].map((l) => swatch(blockColor(0, l), `raw L${l}`)),
    swatch(blockColor(300_000, 3), '5m'),
    swatch(blockColor(3_600_000, 3), '1h'),
    swatch('#ddd', 'marked for deletion', 'marked-deletion'),
    swatch('#ddd', 'no-compact', 'marked-no-compact'),
  );
}

function blockDetails(b: BlockMetaJSON, m: BlockMarks | undefined): HTMLElement {
  const size = sizeOf(b);
  const res = b.thanos?.downsample?.resolution ?? 0;
  const rows: [string, string][] = [
    ['ULID', b.ulid],
    ['Time', `${formatTime(b.minTime)} – ${formatTime(b.maxTime)} UTC (${formatDuration(b.maxTime - b.minTime)})`],
    ['Resolution', RES_NAMES[res] ?? formatDuration(res)],
    ['Level', String(b.compaction.level)],
    ['Series', b.stats?.numSeries === undefined ? '-' : formatCount(b.stats.numSeries)],
    ['Samples', b.stats?.numSamples === undefined ? '-' : formatCount(b.stats.numSamples)],
    ['Chunks', b.stats?.numChunks === undefined ? '-' : formatCount(b.stats.numChunks)],
    ['Size', size === undefined ? '-' : formatBytes(size)],
    ['Sources', String(b.compaction.sources?.length ?? 1)],
    ['Uploaded by', b.thanos?.source ?? '-'],
    ['Labels', labelsKey(b.thanos?.labels)],
  ];
  if (m?.deletion)
    rows.push(['Deletion mark', `${formatTime(m.deletion.deletion_time * 1000)} ${m.deletion.details ?? ''}`.trim()]);
  if (m?.noCompact)
    rows.push([
      'No-compact mark',
      `${formatTime(m.noCompact.no_compact_time * 1000)} ${m.noCompact.reason} ${m.noCompact.details ?? ''}`.trim(),
    ]);
  return h(
    'table',
    { class: 'data-table details-table', 'data-ulid': b.ulid },
    h(
      'tbody',
      null,
      rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))),
    ),
  );
}
