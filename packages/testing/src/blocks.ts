import { join } from 'node:path';
import { type GeneratedSeries, type GeneratorOptions, writeOpenMetrics } from './generator.js';
import { promtool } from './promtool.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

/** Blocks made by the real promtool from generated data, and that data. */
export interface GeneratedBlocks {
  /** TSDB directory holding the blocks (usable as Prometheus's --storage.tsdb.path). */
  dir: string;
  series: number;
  samples: number;
  data: GeneratedSeries[];
}

/**
 * Generates OpenMetrics data and turns it into real blocks with `promtool tsdb create-blocks-from
 * openmetrics`. The OpenMetrics file is deleted once the blocks are made (tens of MB a call).
 */
export async function blocksFromOpenMetrics(
  opts: GeneratorOptions & { dir?: string; maxBlockDuration?: string } = {},
): Promise<GeneratedBlocks> {
  const dir = opts.dir ?? (await makeTempDir('blocks-'));
  const work = await makeTempDir('openmetrics-');
  const openMetricsFile = join(work, 'data.om.txt');
  const { series, samples, data } = await writeOpenMetrics(openMetricsFile, opts);
  try {
    await promtool.createBlocksFromOpenMetrics(
      openMetricsFile,
      dir,
      opts.maxBlockDuration === undefined ? {} : { maxBlockDuration: opts.maxBlockDuration },
    );
  } finally {
    await removeTempDir(work);
  }
  return { dir, series, samples, data };
}
