import { createBlockQueryable, mergeSamples } from '../block/queryable.js';
import type { Head } from '../head/head.js';
import { createHeadQueryable, selectHeadSamples } from '../head/queryable.js';
import { compareLabels, compareStrings } from '../labels/labels.js';
import type { Queryable, SeriesSamples } from '../storage/queryable.js';
import type { BlockSet } from './blocks.js';

/**
 * A Queryable over a head and the blocks of a BlockSet, merged: series with equal labels are
 * joined by time, a block's sample winning over the head's at the same timestamp. The head is
 * read first, synchronously, together with taking the block list, so a head compaction running
 * meanwhile can neither hide nor double a range.
 */
export function createDBQueryable(head: Head, blocks: BlockSet): Queryable {
  const headQ = createHeadQueryable(head);
  return {
    async select(matchers, hints, signal) {
      signal?.throwIfAborted();
      const fromHead = selectHeadSamples(head, matchers, hints.start, hints.end, hints.labelsOnly ?? false);
      const { blocks: bs, release } = blocks.acquire();
      try {
        if (bs.length === 0) return fromHead;
        const fromBlocks = await createBlockQueryable(bs).select(matchers, hints, signal);
        return mergeSorted(fromBlocks, fromHead, hints.labelsOnly ?? false);
      } finally {
        release();
      }
    },
    async labelNames(matchers, hints, signal) {
      const fromHead = await headQ.labelNames(matchers, hints, signal);
      const { blocks: bs, release } = blocks.acquire();
      try {
        const fromBlocks = await createBlockQueryable(bs).labelNames(matchers, hints, signal);
        return [...new Set([...fromBlocks, ...fromHead])].sort(compareStrings);
      } finally {
        release();
      }
    },
    async labelValues(name, matchers, hints, signal) {
      const fromHead = await headQ.labelValues(name, matchers, hints, signal);
      const { blocks: bs, release } = blocks.acquire();
      try {
        const fromBlocks = await createBlockQueryable(bs).labelValues(name, matchers, hints, signal);
        return [...new Set([...fromBlocks, ...fromHead])].sort(compareStrings);
      } finally {
        release();
      }
    },
  };
}

function mergeSorted(a: SeriesSamples[], b: SeriesSamples[], labelsOnly: boolean): SeriesSamples[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: SeriesSamples[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && compareLabels(x.labels, y.labels) < 0)) {
      out.push(x as SeriesSamples);
      i++;
    } else if (x === undefined || compareLabels(x.labels, y.labels) > 0) {
      out.push(y);
      j++;
    } else {
      out.push(labelsOnly ? x : mergeSamples([x, y]));
      i++;
      j++;
    }
  }
  return out;
}
