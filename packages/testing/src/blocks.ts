import { join } from 'node:path';
import { type GeneratedSeries, type GeneratorOptions, writeOpenMetrics } from './generator.js';
import { promtool } from './promtool.js';
import { makeTempDir } from './tempdir.js';

/** Blocks made by the real promtool from generated data, and that data. */
export interface GeneratedBlocks {
  /** TSDB directory holding the blocks (usable as Prometheus's --storage.tsdb.path). */
  dir: string;
  /** The OpenMetrics file promtool read. */
  openMetricsFile: string;
  series: number;
  samples: number;
  data: GeneratedSeries[];
}

/** Generates OpenMetrics data and turns it into real blocks with `promtool tsdb create-blocks-from openmetrics`. */
export async function blocksFromOpenMetrics(
  opts: GeneratorOptions & { dir?: string; maxBlockDuration?: string } = {},
): Promise<GeneratedBlocks> {
  const dir = opts.dir ?? (await makeTempDir('blocks-'));
  const work = await makeTempDir('openmetrics-');
  const openMetricsFile = join(work, 'data.om.txt');
  const { series, samples, data } = await writeOpenMetrics(openMetricsFile, opts);
  await promtool.createBlocksFromOpenMetrics(
    openMetricsFile,
    dir,
    opts.maxBlockDuration === undefined ? {} : { maxBlockDuration: opts.maxBlockDuration },
  );
  return { dir, openMetricsFile, series, samples, data };
}
